/**
 * Exit codes shared by every `medmlops` subcommand; documented in docs/cli.md. This file lives in `common/`, the
 * bottom of the import graph: every room (cli, operator, sidecar, deid, crds, monitor) may import it, and it
 * imports nothing.
 */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  quarantined: 3,
  /** `audit verify`: the audit log's hash chain is broken (an entry was edited, removed or inserted). */
  integrity: 4,
} as const;
