import { Module } from '@nestjs/common';
import { AiModule } from '../ai/ai.module';
import { TemplatesController } from './templates.controller';
import { TemplatesRepository } from './templates.repository';
import { TemplatesService } from './templates.service';

@Module({
  imports: [AiModule],
  providers: [TemplatesRepository, TemplatesService],
  controllers: [TemplatesController],
})
export class TemplatesModule {}
