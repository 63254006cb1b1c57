"""The workflow sandbox, without an ``exec`` per payload (issue 13).

The SDK's sandbox runs every workflow activation inside its restricted importer,
which is the determinism guard we keep: workflow code that reaches for the
clock, the network, randomness or a non-deterministic module fails its task.

Besides the activation itself, the SDK asks the workflow instance for each
payload's *serialization context* (which activity, child or signal a payload
belongs to) while it decodes an activation and encodes its completion. The
sandboxed instance answers by compiling and ``exec``-ing a code string inside
the sandbox, once per payload: measured here (``docs/perf/README.md``), decode +
encode took 1.07 ms per activation, 0.44 ms without it; an operation is two or
three activations. The answer is a lookup in the workflow's pending commands
(no import, no user code, nothing the guard is for), so this runner asks the
sandboxed instance directly, outside the ``exec``. Workflow code itself still
runs only inside the sandbox.

The instance class is the SDK's own (``workflow_sandbox._runner._Instance``,
private): ``tests/worker/test_sandbox.py`` holds its answers to the SDK's and
fails if a release moves them; where the sandboxed object is not where this
expects it, the SDK's path is taken.
"""

from __future__ import annotations

from typing import Any

import temporalio.converter
from temporalio.converter._extstore import StorageDriverStoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

IN_SANDBOX = "__temporal_in_sandbox"  # where the SDK keeps the sandboxed instance (``_Instance._create_instance``)


class _DirectContextInstance(_Instance):
    """The SDK's sandboxed instance; serialization and store contexts are read without an ``exec``."""

    def _inside(self) -> Any:
        return self.globals_and_locals.get(IN_SANDBOX)

    def get_serialization_context(
        self, command_info: CommandInfo | None
    ) -> temporalio.converter.SerializationContext | None:
        inside = self._inside()
        if inside is None:
            return super().get_serialization_context(command_info)
        context: temporalio.converter.SerializationContext | None = inside.get_serialization_context(command_info)
        return context

    def get_external_store_context(self, command_info: CommandInfo | None) -> StorageDriverStoreContext:
        inside = self._inside()
        if inside is None:
            return super().get_external_store_context(command_info)
        context: StorageDriverStoreContext = inside.get_external_store_context(command_info)
        return context


class DirectContextSandboxRunner(SandboxedWorkflowRunner):
    """``SandboxedWorkflowRunner`` whose instances answer serialization contexts directly (module docstring)."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _DirectContextInstance(det, self.runner_class, self.restrictions)
