/** Exit codes shared by every subcommand; documented in docs/cli.md. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  quarantined: 3,
} as const;
