import net from "node:net";
import type { AddressInfo } from "node:net";

/**
 * A TCP proxy for integration tests that break connections the way networks do: `reset()` kills every open
 * connection (the client sees an error), `freeze()` keeps existing connections open but silently stops forwarding
 * (a hung watch). New connections always work. Listens on 127.0.0.1 only.
 */
export class TcpProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<{ a: net.Socket; b: net.Socket; frozen: boolean }>();

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  async listen(): Promise<number> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.targetPort, this.targetHost);
      const pair = { a: client, b: upstream, frozen: false };
      this.pairs.add(pair);
      const forward = (from: net.Socket, to: net.Socket) =>
        from.on("data", (d) => {
          if (!pair.frozen) to.write(d);
        });
      forward(client, upstream);
      forward(upstream, client);
      const close = () => {
        client.destroy();
        upstream.destroy();
        this.pairs.delete(pair);
      };
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return (this.server!.address() as AddressInfo).port;
  }

  connections(): number {
    return this.pairs.size;
  }

  reset(): void {
    for (const p of this.pairs) {
      p.a.resetAndDestroy();
      p.b.destroy();
    }
    this.pairs.clear();
  }

  freeze(): void {
    for (const p of this.pairs) p.frozen = true;
  }

  async close(): Promise<void> {
    this.reset();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
