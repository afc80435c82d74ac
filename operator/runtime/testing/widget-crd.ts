import type { RestClient } from "../rest.ts";
import { isConflict } from "../rest.ts";
import type { GVK } from "../types.ts";

/** A tiny CRD with a status subresource, used only by the runtime's integration tests. */
export const Widget: GVK = {
  group: "runtime-test.medmlops.io",
  version: "v1",
  kind: "Widget",
  plural: "widgets",
};

export const widgetCrd = {
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: "widgets.runtime-test.medmlops.io" },
  spec: {
    group: Widget.group,
    scope: "Namespaced",
    names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
    versions: [
      {
        name: "v1",
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: { type: "object", properties: { size: { type: "integer" }, note: { type: "string" } } },
              status: {
                type: "object",
                properties: {
                  observedGeneration: { type: "integer" },
                  phase: { type: "string" },
                  conditions: {
                    type: "array",
                    "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["type"],
                    items: {
                      type: "object",
                      required: ["type", "status", "lastTransitionTime", "reason", "message"],
                      properties: {
                        type: { type: "string" },
                        status: { type: "string", enum: ["True", "False", "Unknown"] },
                        reason: { type: "string" },
                        message: { type: "string" },
                        lastTransitionTime: { type: "string", format: "date-time" },
                        observedGeneration: { type: "integer" },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    ],
  },
};

/** Creates the Widget CRD if missing and waits until the API serves it. */
export async function ensureWidgetCrd(rest: RestClient): Promise<void> {
  try {
    await rest.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
      body: widgetCrd,
    });
  } catch (err) {
    if (!isConflict(err)) throw err;
  }
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await rest.request("GET", `/apis/${Widget.group}/${Widget.version}/widgets`);
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
