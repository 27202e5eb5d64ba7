import { Inject, Module, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { AiModule } from '../ai/ai.module';
import { DocumentReader } from './document-reader';
import { DocumentsController } from './documents.controller';
import { DocumentSavings } from './documents.savings';
import { DocumentsService } from './documents.service';

@Module({
  imports: [AiModule],
  providers: [{ provide: DocumentReader, useFactory: () => new DocumentReader() }, DocumentSavings, DocumentsService],
  controllers: [DocumentsController],
  exports: [DocumentSavings],
})
export class DocumentsModule implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(@Inject(DocumentReader) private readonly reader: DocumentReader) {}

  onApplicationBootstrap(): void {
    this.reader.warm();
  }

  onApplicationShutdown(): Promise<void> {
    return this.reader.close();
  }
}
