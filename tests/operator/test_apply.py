"""The patch the operator sends for a live object: only what differs from the built one."""

from __future__ import annotations

from tasktracker_operator.handlers.apply import covers, merge_patch_for


def test_server_added_fields_are_not_drift() -> None:
    live = {
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {"containers": [{"name": "api", "image": "a:1", "terminationMessagePath": "/dev/x"}]}
            },
        }
    }
    built = {"spec": {"template": {"spec": {"containers": [{"name": "api", "image": "a:1"}]}}}}
    assert covers(live, built)
    assert merge_patch_for(live, built) == {}


def test_a_changed_image_patches_the_container_list_and_nothing_else() -> None:
    live = {
        "metadata": {"labels": {"a": "1"}},
        "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "w", "image": "t:1"}]}}},
    }
    built = {
        "metadata": {"labels": {"a": "1"}},
        "spec": {"template": {"spec": {"containers": [{"name": "w", "image": "t:2"}]}}},
    }
    patch = merge_patch_for(live, built)
    assert patch == {"spec": {"template": {"spec": {"containers": [{"name": "w", "image": "t:2"}]}}}}
    assert "replicas" not in patch["spec"]  # what the built object does not say is left alone


def test_a_list_of_another_length_is_drift() -> None:
    assert not covers({"ports": [{"port": 1}, {"port": 2}]}, {"ports": [{"port": 1}]})
    assert merge_patch_for({"ports": [{"port": 1}, {"port": 2}]}, {"ports": [{"port": 1}]}) == {
        "ports": [{"port": 1}]
    }
