import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { z } from "zod";

/** cluster.json: the ports a running cluster was started with (chosen free at start). */
export const ClusterStateSchema = z.object({
  startedAt: z.string(),
  ports: z.object({
    etcdClient: z.number().int().positive(),
    etcdPeer: z.number().int().positive(),
    apiserver: z.number().int().positive(),
    controllerManager: z.number().int().positive(),
    scheduler: z.number().int().positive(),
    kwok: z.number().int().positive(),
  }),
});
export type ClusterState = z.infer<typeof ClusterStateSchema>;

export function readState(file: string): ClusterState | undefined {
  if (!existsSync(file)) return undefined;
  const parsed = ClusterStateSchema.safeParse(JSON.parse(readFileSync(file, "utf8")));
  return parsed.success ? parsed.data : undefined;
}

export function writeState(file: string, state: ClusterState): void {
  writeFileSync(file, `${JSON.stringify(state, null, 2)}\n`);
}
