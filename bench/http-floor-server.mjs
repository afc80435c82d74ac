// The transport floor for the sidecar latency benchmark: a bare Node HTTP server, no framework, no model. It
// reads the request body into one reused buffer and answers at once with a 4 KB body (the size of the
// ResNet-18 binary answer). Whatever the sidecar adds on top of this round trip is the sidecar's own cost.
//   node bench/http-floor-server.mjs PORT
import { createServer } from "node:http";

const port = Number(process.argv[2]);
const sink = Buffer.allocUnsafeSlow(16 * 1024 * 1024);
const answer = Buffer.alloc(4000 + 200, 1);
createServer((req, res) => {
  let at = 0;
  req.on("data", (chunk) => {
    if (at + chunk.length <= sink.length) chunk.copy(sink, at);
    at += chunk.length;
  });
  req.on("end", () => {
    res.setHeader("content-type", "application/octet-stream");
    res.end(answer);
  });
}).listen(port, "127.0.0.1", () => process.send?.("listening"));
