import { ClientProxyFactory, type ClientProxy, Transport } from '@nestjs/microservices';
import { firstValueFrom } from 'rxjs';
import { type Socket, io } from 'socket.io-client';
import { CACHE_MANAGER, type Cache } from '@strata/cache/compat';
import { getFreePort, waitFor } from '../../libs/cache/test/harness';
import { AppModule as GatewayModule } from './scenarios/gateway/app.module';
import { AppModule as MicroserviceModule } from './scenarios/microservice/app.module';
import { Calls, PLATFORMS, type Platform, type RunningApp, startApp } from './scenarios/start-app';

/**
 * "WebSockets and Microservices" of the NestJS caching docs: the interceptor on a socket.io gateway and
 * on a TCP message pattern, keyed by `@CacheKey`, in an app served by Express or Fastify.
 */
describe.each<Platform>(PLATFORMS)('CacheInterceptor on gateways and message patterns (%s)', (platform) => {
  let running: RunningApp | undefined;
  afterEach(async () => {
    await running?.close();
    running = undefined;
  });

  describe('WebSocket gateway (socket.io)', () => {
    let socket: Socket | undefined;
    afterEach(() => {
      socket?.disconnect();
      socket = undefined;
    });
    const ask = (event: string, data: string[]) => socket!.timeout(5_000).emitWithAck(event, data) as Promise<string[]>;

    it("@CacheKey('events'): the subscriber runs once; later messages get the cached answer, whatever their data", async () => {
      running = await startApp(platform, GatewayModule);
      socket = io(running.url, { transports: ['websocket'], forceNew: true });
      expect(await ask('events', ['a'])).toEqual(['run 1', 'a']);
      // As in cache-manager: the key is the @CacheKey alone, so the data does not make another entry.
      expect(await ask('events', ['b'])).toEqual(['run 1', 'a']);
      expect(running.app.get(Calls).of('events')).toBe(1);
      expect(await running.app.get<Cache>(CACHE_MANAGER).get('events')).toEqual(['run 1', 'a']);
    });

    it('@CacheTTL without @CacheKey: no key, so nothing is cached', async () => {
      running = await startApp(platform, GatewayModule);
      socket = io(running.url, { transports: ['websocket'], forceNew: true });
      expect(await ask('uncached', [])).toEqual(['run 1']);
      expect(await ask('uncached', [])).toEqual(['run 2']);
    });
  });

  describe('Microservice message pattern (TCP transport, hybrid app)', () => {
    let client: ClientProxy | undefined;
    afterEach(async () => {
      await client?.close();
      client = undefined;
    });

    const startHybrid = async () => {
      const port = await getFreePort();
      running = await startApp(platform, MicroserviceModule, async (app) => {
        app.connectMicroservice({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
        await app.startAllMicroservices();
      });
      client = ClientProxyFactory.create({ transport: Transport.TCP, options: { host: '127.0.0.1', port } });
      await client.connect();
    };
    const send = (pattern: string, data: string[]) => firstValueFrom(client!.send<string[]>(pattern, data));

    it("@CacheKey('events') @MessagePattern('events'): the handler runs once", async () => {
      await startHybrid();
      expect(await send('events', ['x'])).toEqual(['run 1', 'x']);
      expect(await send('events', ['y'])).toEqual(['run 1', 'x']);
      expect(running!.app.get(Calls).of('events')).toBe(1);
    });

    it('@CacheTTL(30) is 30 ms: the pattern runs again once it expired', async () => {
      await startHybrid();
      const before = Date.now();
      expect(await send('short', [])).toEqual(['run 1']);
      await waitFor(async () => (await send('short', []))[0] !== 'run 1', { timeoutMs: 30_000, intervalMs: 20 });
      expect(Date.now() - before).toBeGreaterThanOrEqual(30);
    });
  });
});
