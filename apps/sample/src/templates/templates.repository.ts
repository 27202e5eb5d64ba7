import { Injectable, NotFoundException, type OnModuleInit } from '@nestjs/common';
import { SampleStore } from '../store/sample.store';

export interface Template {
  id: string;
  name: string;
  description: string;
  category: string;
  requirements: string[];
  /** The text, with `{{field}}` placeholders. */
  body: string;
  version: number;
  updatedAt: string;
}

export type TemplatePatch = Partial<Pick<Template, 'name' | 'description' | 'category' | 'requirements' | 'body'>>;

const SEED: Array<Omit<Template, 'version' | 'updatedAt'>> = [
  { id: 'invoice-basic', name: 'Basic invoice', description: 'A one-page invoice with line items and totals', category: 'finance', requirements: ['line-items', 'totals', 'tax'], body: 'Invoice for {{customer}}: {{total}} due {{due}}.' },
  { id: 'invoice-eu', name: 'EU VAT invoice', description: 'An invoice with VAT numbers and reverse charge notes for EU customers', category: 'finance', requirements: ['line-items', 'totals', 'tax', 'vat-number'], body: 'Invoice for {{customer}} (VAT {{vat}}): {{total}}.' },
  { id: 'receipt', name: 'Payment receipt', description: 'Confirms a payment was received', category: 'finance', requirements: ['totals', 'payment-method'], body: 'Received {{total}} from {{customer}} by {{method}}.' },
  { id: 'nda', name: 'Mutual NDA', description: 'A mutual non-disclosure agreement between two companies', category: 'legal', requirements: ['parties', 'term', 'signatures'], body: 'This agreement between {{partyA}} and {{partyB}} lasts {{term}}.' },
  { id: 'employment-offer', name: 'Employment offer letter', description: 'Offer letter with salary, start date and benefits', category: 'hr', requirements: ['salary', 'start-date', 'signatures'], body: 'Dear {{candidate}}, we offer you {{salary}} starting {{start}}.' },
  { id: 'onboarding-checklist', name: 'Onboarding checklist', description: 'Tasks for a new employee first week: accounts, equipment, training', category: 'hr', requirements: ['tasks', 'owner'], body: 'Welcome {{employee}}: {{tasks}}.' },
  { id: 'release-notes', name: 'Release notes', description: 'Product release notes listing new features and bug fixes', category: 'product', requirements: ['version', 'features', 'fixes'], body: 'Version {{version}}: {{features}}. Fixed: {{fixes}}.' },
  { id: 'incident-report', name: 'Incident postmortem', description: 'Postmortem of a production outage with timeline, root cause and actions', category: 'engineering', requirements: ['timeline', 'root-cause', 'actions'], body: 'Incident {{id}}: {{summary}}. Root cause: {{cause}}.' },
  { id: 'rfc', name: 'Design proposal (RFC)', description: 'A technical design proposal with context, options and decision', category: 'engineering', requirements: ['context', 'options', 'decision'], body: 'RFC {{title}}: we choose {{decision}}.' },
  { id: 'newsletter', name: 'Customer newsletter', description: 'Monthly email newsletter to customers with product news', category: 'marketing', requirements: ['headline', 'sections', 'unsubscribe'], body: '{{headline}} — {{sections}}' },
  { id: 'press-release', name: 'Press release', description: 'Announcement of company news for journalists', category: 'marketing', requirements: ['headline', 'quote', 'contact'], body: 'FOR IMMEDIATE RELEASE: {{headline}}. "{{quote}}"' },
  { id: 'support-reply', name: 'Support reply', description: 'A polite answer to a customer support ticket with next steps', category: 'support', requirements: ['greeting', 'answer', 'next-steps'], body: 'Hi {{customer}}, {{answer}} Next: {{steps}}' },
];

/** Templates are shared by every tenant. */
const SHARED = '';

/** The template catalog, in the sample's store (PostgreSQL or memory); seeded at startup when missing. */
@Injectable()
export class TemplatesRepository implements OnModuleInit {
  constructor(private readonly store: SampleStore) {}

  async onModuleInit(): Promise<void> {
    const at = new Date(0).toISOString();
    for (const t of SEED) await this.store.putIfAbsent<Template>('templates', SHARED, t.id, { ...t, version: 1, updatedAt: at });
  }

  all(): Promise<Template[]> {
    return this.store.list<Template>('templates', SHARED);
  }

  async get(id: string): Promise<Template> {
    const template = await this.store.get<Template>('templates', SHARED, id);
    if (!template) throw new NotFoundException(`no template '${id}'`);
    return template;
  }

  async update(id: string, patch: TemplatePatch): Promise<Template> {
    const next = await this.store.update<Template>('templates', SHARED, id, (current) => ({ ...current, ...patch, id, version: current.version + 1, updatedAt: new Date().toISOString() }));
    if (!next) throw new NotFoundException(`no template '${id}'`);
    return next;
  }
}
