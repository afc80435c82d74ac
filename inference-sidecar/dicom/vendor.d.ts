// Minimal types for the WASM codecs (they ship none). Each factory resolves to an Emscripten module whose
// decoder copies the encoded bytes into WASM memory, decodes, and exposes the result as a view.
interface WasmFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}
interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): WasmFrameInfo;
  delete(): void;
}
declare module "@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs" {
  const factory: (opts?: object) => Promise<{ JPEGDecoder: new () => WasmDecoder }>;
  export default factory;
}
declare module "@cornerstonejs/codec-charls/decodewasmjs" {
  const factory: (opts?: object) => Promise<{ JpegLSDecoder: new () => WasmDecoder }>;
  export default factory;
}
declare module "@cornerstonejs/codec-openjpeg/decodewasmjs" {
  const factory: (opts?: object) => Promise<{ J2KDecoder: new () => WasmDecoder }>;
  export default factory;
}
declare module "@cornerstonejs/codec-libjpeg-turbo-8bit/wasmjs" {
  const factory: () => Promise<Record<string, new () => unknown>>;
  export default factory;
}
declare module "@cornerstonejs/codec-charls/wasmjs" {
  const factory: () => Promise<Record<string, new () => unknown>>;
  export default factory;
}
declare module "@cornerstonejs/codec-openjpeg/wasmjs" {
  const factory: () => Promise<Record<string, new () => unknown>>;
  export default factory;
}
declare module "jpeg-lossless-decoder-js" {
  export class Decoder {
    constructor(buffer?: ArrayBuffer, numBytes?: number);
    decode(
      buffer: ArrayBuffer,
      offset: number,
      length: number,
      numBytes?: number,
    ): Uint8Array | Uint16Array | Int16Array;
    numComp: number;
    xDim: number;
    yDim: number;
  }
}
