import * as net from 'node:net';

interface Link {
  client: net.Socket;
  server: net.Socket;
  /** Set once the client sent SUBSCRIBE on it: the bus's subscriber connection. */
  subscriber: boolean;
  frozen: boolean;
}

/**
 * A TCP proxy in front of a Redis server, to fail one connection the way networks do: `freezeSubscribers()`
 * stops forwarding on the pub/sub connections without closing them (a dead peer: no FIN, no RST), which
 * only a PING with a timeout can notice; `refuseSubscribers` closes new ones as soon as they SUBSCRIBE.
 * Other connections (the main client's) are untouched.
 */
export class TcpProxy {
  private readonly links = new Set<Link>();
  private server: net.Server | undefined;
  refuseSubscribers = false;
  /** Closes every new connection at once (with `dropAll()`: this client cannot reach Redis at all). */
  refuseAll = false;
  port = 0;

  constructor(private readonly targetPort: number, private readonly targetHost = '127.0.0.1') {}

  async start(): Promise<void> {
    this.server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Stops forwarding on every current subscriber connection, leaving the sockets open. Returns how many. */
  freezeSubscribers(): number {
    let frozen = 0;
    for (const link of this.links) {
      if (!link.subscriber || link.frozen) continue;
      link.frozen = true;
      link.client.pause();
      link.server.pause();
      frozen += 1;
    }
    return frozen;
  }

  get subscribers(): number {
    return [...this.links].filter((link) => link.subscriber && !link.frozen).length;
  }

  /** Closes every connection now. */
  dropAll(): void {
    for (const link of [...this.links]) {
      link.client.destroy();
      link.server.destroy();
    }
    this.links.clear();
  }

  async stop(): Promise<void> {
    for (const link of this.links) {
      link.client.destroy();
      link.server.destroy();
    }
    this.links.clear();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.refuseAll) {
      client.destroy();
      return;
    }
    const server = net.connect(this.targetPort, this.targetHost);
    const link: Link = { client, server, subscriber: false, frozen: false };
    this.links.add(link);
    const close = () => {
      this.links.delete(link);
      client.destroy();
      server.destroy();
    };
    client.on('data', (chunk: Buffer) => {
      if (link.frozen) return;
      if (!link.subscriber && /subscribe/i.test(chunk.toString('latin1'))) {
        link.subscriber = true;
        if (this.refuseSubscribers) {
          close();
          return;
        }
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (!link.frozen) client.write(chunk);
    });
    client.on('error', close);
    server.on('error', close);
    client.on('close', close);
    server.on('close', close);
  }
}
