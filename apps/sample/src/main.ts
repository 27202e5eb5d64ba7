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
  const data = process.env.DATABASE_URL ? 'PostgreSQL (DATABASE_URL)' : 'memory, this process only (set DATABASE_URL for PostgreSQL)';
  Logger.log(`Strata sample on http://127.0.0.1:${port} — cache: ${mode}; data: ${data}`, 'Bootstrap');
  const model = process.env.OPENAI_API_KEY ? `the OpenAI API at ${process.env.OPENAI_BASE_URL || 'https://api.openai.com/v1'}` : 'a simulated model (set OPENAI_API_KEY for the real one)';
  Logger.log(`AI routes use ${model}`, 'Bootstrap');
  Logger.log(`Try: curl http://127.0.0.1:${port}/reports/42 (twice), then curl http://127.0.0.1:${port}/cache/stats`, 'Bootstrap');
  Logger.log(
    `     curl -H 'content-type: application/json' -d '{"prompt":"How do I reset my password?"}' http://127.0.0.1:${port}/ai/complete (then rephrase it)`,
    'Bootstrap',
  );
}

void bootstrap();
