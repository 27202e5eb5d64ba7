import { Module } from '@nestjs/common';
import { Simulation } from '../common/simulation';
import { AiController } from './ai.controller';
import { AiService } from './ai.service';
import { LLM_CLIENT, type LlmClient } from './llm/llm.client';
import { OpenAiLlm } from './llm/openai.llm';
import { SimulatedLlm } from './llm/simulated.llm';

/** The simulated model unless OPENAI_API_KEY is set (OPENAI_BASE_URL for a compatible server, OPENAI_MODEL for the default model). */
export function llmFromEnv(simulation: Simulation, env: NodeJS.ProcessEnv = process.env): LlmClient {
  const key = env.OPENAI_API_KEY;
  return key ? new OpenAiLlm(key, env.OPENAI_BASE_URL, env.OPENAI_MODEL) : new SimulatedLlm(simulation);
}

@Module({
  providers: [
    { provide: Simulation, useFactory: () => new Simulation() },
    { provide: LLM_CLIENT, useFactory: (simulation: Simulation) => llmFromEnv(simulation), inject: [Simulation] },
    AiService,
  ],
  controllers: [AiController],
  exports: [LLM_CLIENT, Simulation],
})
export class AiModule {}
