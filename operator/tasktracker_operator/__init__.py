"""The TaskTracker operator: one `TaskTracker` resource runs the whole Task Tracker platform."""
