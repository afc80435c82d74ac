/**
 * Small builders for Grafana dashboards typed with @grafana/schema (Grafana's own dashboard schema types), so
 * `npm run typecheck` checks every dashboard against it. Queries use the `$datasource` variable (a Prometheus
 * data source chosen in Grafana) and `$namespace` (the hospital's namespaces).
 */
import type { Dashboard, Panel, VariableModel } from "@grafana/schema";

export const SCHEMA_VERSION = 39;
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own variable syntax, not a template literal
export const DS = { type: "prometheus", uid: "${datasource}" } as const;

export interface Query {
  expr: string;
  legend?: string;
  /** Table panels want the instant value, not a range. */
  instant?: boolean;
}

let nextId = 1;
export function resetIds(): void {
  nextId = 1;
}

function targets(queries: Query[]): Record<string, unknown>[] {
  return queries.map((q, i) => ({
    datasource: DS,
    refId: String.fromCharCode(65 + i),
    expr: q.expr,
    legendFormat: q.legend ?? "__auto",
    ...(q.instant ? { instant: true, range: false, format: "table" } : { range: true }),
  }));
}

export function panel(
  type: "timeseries" | "stat" | "table",
  title: string,
  description: string,
  pos: { x: number; y: number; w: number; h: number },
  queries: Query[],
  extra: Partial<Panel> = {},
): Panel {
  return {
    id: nextId++,
    type,
    title,
    description,
    datasource: DS,
    gridPos: pos,
    targets: targets(queries),
    fieldConfig: { defaults: {}, overrides: [] },
    options: {},
    ...extra,
  };
}

export function datasourceVariable(): VariableModel {
  return { name: "datasource", label: "Prometheus", type: "datasource", query: "prometheus", hide: 0 };
}

export function queryVariable(name: string, label: string, query: string, multi: boolean): VariableModel {
  return {
    name,
    label,
    type: "query",
    datasource: DS,
    query: { query, refId: `${name}-var` },
    refresh: 2,
    multi,
    includeAll: multi,
    ...(multi ? { allValue: ".*" } : {}),
    hide: 0,
    sort: 1,
  };
}

export function dashboard(
  uid: string,
  title: string,
  description: string,
  variables: VariableModel[],
  panels: Panel[],
): Dashboard {
  return {
    uid,
    title,
    description,
    tags: ["medmlops"],
    schemaVersion: SCHEMA_VERSION,
    editable: false,
    graphTooltip: 1,
    refresh: "1m",
    time: { from: "now-24h", to: "now" },
    timezone: "browser",
    templating: { list: variables },
    annotations: { list: [] },
    panels,
  };
}
