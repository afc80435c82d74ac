// `npm run cluster:up` / `npm run cluster:down` / `tsx test/cluster/cli.ts status`.
import { down, isHealthy, up } from "./launcher.ts";
import { clusterPaths } from "./paths.ts";

async function main(argv: string[]): Promise<number> {
  const cmd = argv[0];
  switch (cmd) {
    case "up": {
      const r = await up({ realNode: argv.includes("--real-node") ? true : undefined });
      // stdout carries only the kubeconfig path, so `export KUBECONFIG=$(npm run -s cluster:up)` works.
      process.stdout.write(`${r.kubeconfig}\n`);
      return 0;
    }
    case "down":
      await down();
      return 0;
    case "status": {
      const ok = await isHealthy();
      process.stdout.write(ok ? `healthy: ${clusterPaths().kubeconfig}\n` : "not running\n");
      return ok ? 0 : 1;
    }
    default:
      process.stderr.write("usage: tsx test/cluster/cli.ts up [--real-node]|down|status\n");
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`[cluster] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
