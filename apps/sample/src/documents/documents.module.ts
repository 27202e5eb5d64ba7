import { Module } from '@nestjs/common';
import { AiModule } from '../ai/ai.module';
import { Simulation } from '../common/simulation';
import { DocumentBackends } from './documents.backends';
import { DocumentsController } from './documents.controller';
import { DocumentsService } from './documents.service';

@Module({
  imports: [AiModule],
  providers: [{ provide: DocumentBackends, useFactory: (simulation: Simulation) => new DocumentBackends(simulation), inject: [Simulation] }, DocumentsService],
  controllers: [DocumentsController],
})
export class DocumentsModule {}
