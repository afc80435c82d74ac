/**
 * ArrayBuffers that belong to the sidecar alone — a request body it allocated, a batch it stacked — and may
 * therefore be transferred to the inference worker instead of copied. Anything not marked (a pooled
 * Buffer slab, memory shared with a caller) is cloned: transferring it would detach memory someone else uses.
 */
const owned = new WeakSet<ArrayBuffer>();

export function markOwned(buffer: ArrayBuffer): void {
  owned.add(buffer);
}

export function isOwned(buffer: ArrayBufferLike): buffer is ArrayBuffer {
  return buffer instanceof ArrayBuffer && owned.has(buffer);
}
