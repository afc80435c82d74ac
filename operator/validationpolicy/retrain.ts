/**
 * The Retrain action's RetrainJob: built from spec.actions.retrainTemplate, named deterministically from the
 * episode so that every re-evaluation, restart or leader change of the same episode names the same object (a
 * second create is AlreadyExists). The candidate version it produces is named from the episode too; the
 * RetrainJob controller (separate issue) appends it as a version, never promotes it.
 */
import { createHash } from "node:crypto";
import { API_VERSION } from "../../crds/common.ts";
import type { ValidationPolicySpec } from "../../crds/validationpolicy.ts";
import type { KubeObject } from "../runtime/index.ts";

const short = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 8);
const trim = (s: string, n: number) => s.slice(0, n).replace(/-+$/, "");

export function retrainJobName(policy: string, episodeKey: string): string {
  return `${trim(policy, 48)}-rt-${short(episodeKey)}`;
}

export function candidateVersionName(version: string, episodeKey: string): string {
  return `${trim(version, 48)}-rt-${short(episodeKey)}`;
}

export interface RetrainJobInput {
  namespace: string;
  policy: { name: string; uid?: string };
  spec: ValidationPolicySpec;
  episode: { key: string; version: string; type: string };
}

/** The RetrainJob object to create, or undefined when the policy has no template. */
export function buildRetrainJob(input: RetrainJobInput): KubeObject | undefined {
  const template = input.spec.actions.retrainTemplate;
  if (template === undefined) return undefined;
  const { key, version, type } = input.episode;
  return {
    apiVersion: API_VERSION,
    kind: "RetrainJob",
    metadata: {
      name: retrainJobName(input.policy.name, key),
      namespace: input.namespace,
      labels: {
        "app.kubernetes.io/managed-by": "medmlops",
        "medmlops.io/policy": trim(input.policy.name, 63),
        "medmlops.io/episode": key,
      },
      annotations: { "medmlops.io/reason": `${type} episode ${key} of ${version}` },
      ...(input.policy.uid
        ? {
            ownerReferences: [
              {
                apiVersion: API_VERSION,
                kind: "ValidationPolicy",
                name: input.policy.name,
                uid: input.policy.uid,
                controller: false,
                blockOwnerDeletion: false,
              },
            ],
          }
        : {}),
    },
    spec: {
      modelRef: { name: input.spec.modelRef.name },
      baseVersion: version,
      candidateVersion: candidateVersionName(version, key),
      dataset: template.dataset,
      trainer: template.trainer,
      evaluation: { policyRef: { name: input.policy.name } },
    },
  };
}
