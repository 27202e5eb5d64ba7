import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

async function bootstrap(): Promise<void> {
  const app = await NestFactory.create(AppModule);
  app.enableShutdownHooks();
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, '127.0.0.1');
  const mode = process.env.REDIS_URL ? `Redis at ${process.env.REDIS_URL}` : 'memory only (set REDIS_URL to use Redis)';
  Logger.log(`Strata sample on http://127.0.0.1:${port} — cache: ${mode}`, 'Bootstrap');
  Logger.log(`Try: curl http://127.0.0.1:${port}/reports/42 (twice), then curl http://127.0.0.1:${port}/cache/stats`, 'Bootstrap');
}

void bootstrap();
