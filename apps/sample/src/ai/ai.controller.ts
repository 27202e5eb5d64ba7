import { Body, Controller, Get, Headers, HttpCode, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { xCache } from '../common/cache-status';
import { tenantOf } from '../common/tenant';
import { costOf } from './ai.pricing';
import { AiService, type CompleteBody } from './ai.service';

type RequestHeaders = Record<string, string | string[] | undefined>;

@Controller('ai')
export class AiController {
  constructor(private readonly service: AiService) {}

  /** `{ prompt | messages, model?, temperature?, operation? }` → the answer and how it was served. */
  @Post('complete')
  @HttpCode(200)
  async complete(@Body() body: CompleteBody, @Headers() headers: RequestHeaders, @Res({ passthrough: true }) res: Response) {
    const payload = await this.service.complete(tenantOf(headers), body);
    res.setHeader('X-Cache', xCache(payload.cache.status));
    if (payload.cache.similarity !== undefined) res.setHeader('X-Cache-Similarity', payload.cache.similarity.toFixed(4));
    return payload;
  }

  /**
   * The same as server-sent events: `event: meta` (how it is served), `data: {"text"}` per piece,
   * `event: done` (usage, cost). Replayed from the cache on a hit. A client that hangs up stops the
   * model stream (if no one else is reading it).
   */
  @Post('complete/stream')
  async stream(@Body() body: CompleteBody, @Headers() headers: RequestHeaders, @Res() res: Response): Promise<void> {
    const result = await this.service.stream(tenantOf(headers), body);
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('X-Cache', xCache(result.status));
    res.flushHeaders();
    res.write(`event: meta\ndata: ${JSON.stringify({ cache: { status: result.status, similarity: result.similarity } })}\n\n`);
    const iterator = result.stream[Symbol.asyncIterator]();
    let gone = false;
    res.on('close', () => {
      gone = true;
      void iterator.return?.();
    });
    try {
      for (let step = await iterator.next(); !step.done && !gone; step = await iterator.next()) {
        res.write(`data: ${JSON.stringify({ text: step.value.text })}\n\n`);
      }
      if (!gone) {
        const response = await result.response;
        const usage = response.usage ?? { promptTokens: 0, completionTokens: 0 };
        const model = response.model ?? result.model;
        const cost = result.status === 'miss' ? costOf(model, usage) : 0;
        res.write(`event: done\ndata: ${JSON.stringify({ model, usage, cost })}\n\n`);
      }
    } catch (error) {
      if (!gone) res.write(`event: error\ndata: ${JSON.stringify({ message: error instanceof Error ? error.message : String(error) })}\n\n`);
    } finally {
      res.end();
    }
  }

  /** `{ audioBase64 }` → the transcript, cached by the audio's SHA-256. */
  @Post('transcribe')
  @HttpCode(200)
  async transcribe(@Body() body: { audioBase64?: unknown }, @Headers() headers: RequestHeaders, @Res({ passthrough: true }) res: Response) {
    const result = await this.service.transcribe(tenantOf(headers), body?.audioBase64);
    res.setHeader('X-Cache', xCache(result.cache.status));
    return result;
  }

  /** Hits by kind, tokens and money saved, semantic similarity histogram. */
  @Get('stats')
  stats() {
    return this.service.stats();
  }
}
