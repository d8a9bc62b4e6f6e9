"""The mock-runtime harness fails clearly, naming what moved, when the Pulumi SDK changes underneath it."""

import pytest

from testkit import mock_runtime


def test_every_private_sdk_name_the_harness_uses_is_still_there() -> None:
    mock_runtime.check_sdk()


def test_a_missing_private_name_is_reported_with_the_version_it_was_checked_against(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mock_runtime, "SDK_PRIVATE", (*mock_runtime.SDK_PRIVATE, ("pulumi.runtime.rpc", "_gone_in_a_later_sdk")))
    with pytest.raises(mock_runtime.SdkChangedError) as error:
        mock_runtime.check_sdk()
    assert "pulumi.runtime.rpc._gone_in_a_later_sdk" in str(error.value)
    assert mock_runtime.SDK_CHECKED in str(error.value)


def test_the_secret_marker_the_harness_reads_is_the_one_the_sdk_writes() -> None:
    import pulumi
    import pulumi_kong as kong

    result = mock_runtime.run({}, program=lambda: kong.Consumer("c", username="u", custom_id=pulumi.Output.secret("hidden")))
    consumer = result.one("consumer")
    assert consumer.is_secret("customId") and not consumer.is_secret("username")
    assert consumer.inputs["customId"] == {mock_runtime.SECRET_SIG: mock_runtime.SECRET_VALUE, "value": "hidden"}


def test_a_run_whose_output_failed_does_not_fail_the_next_run() -> None:
    import pulumi

    from components import ProtectedApi

    def failing() -> None:
        ProtectedApi("a", {"upstream_url": pulumi.Output.from_input("ftp://not-http"), "route_paths": ["/a"]})

    assert mock_runtime.run({}, program=failing).error is not None
    assert mock_runtime.run(mock_runtime.cli_config()).error is None


def test_two_resources_with_one_urn_fail_as_the_engine_fails_them() -> None:
    import pulumi_kong as kong

    def twice() -> None:
        kong.Consumer("c", username="a", custom_id="a")
        kong.Consumer("c", username="b", custom_id="b")

    result = mock_runtime.run({}, program=twice)
    assert "Duplicate resource URN" in str(result.error)
