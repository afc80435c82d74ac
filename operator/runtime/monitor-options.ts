/** The options every controller's MonitorClient gets from the operator's flags: its TLS files, when set. */
import type { ClientTlsFiles } from "../../common/tls/client.ts";
import type { OperatorConfig } from "./types.ts";

export function monitorOptions(config: Pick<OperatorConfig, "monitorTls">): { tls?: ClientTlsFiles } {
  return config.monitorTls ? { tls: config.monitorTls } : {};
}
