"""Task exports: targets (GitHub, Jira, Linear, webhooks), routing rules, the export job, and sync back."""
