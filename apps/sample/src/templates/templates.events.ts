import { Injectable, Logger } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { TemplatesService } from './templates.service';

export const TEMPLATE_UPDATED = 'template.updated';

export interface TemplateUpdatedEvent {
  id: string;
  version: number;
}

/**
 * Event-driven invalidation: whoever changes a template emits `template.updated`; this listener drops
 * the template's cached scores, renderings and embeddings, and catalog-wide results.
 */
@Injectable()
export class TemplateCacheListener {
  private readonly logger = new Logger(TemplateCacheListener.name);

  constructor(private readonly templates: TemplatesService) {}

  @OnEvent(TEMPLATE_UPDATED, { promisify: true })
  async onTemplateUpdated(event: TemplateUpdatedEvent): Promise<void> {
    await this.templates.invalidate(event.id);
    this.logger.debug?.(`caches of template ${event.id} invalidated (now v${event.version})`);
  }
}
