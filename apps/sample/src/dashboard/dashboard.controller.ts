import { Controller, Get, Header } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type DashboardData, DashboardService } from './dashboard.service';

const PUBLIC = path.join(__dirname, 'public');

/** `GET /dashboard`: a static page (no build step) that polls `GET /dashboard/data` and draws charts on canvas. */
@Controller('dashboard')
export class DashboardController {
  constructor(private readonly dashboard: DashboardService) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return readFileSync(path.join(PUBLIC, 'dashboard.html'), 'utf8');
  }

  @Get('data')
  @Header('Cache-Control', 'no-store')
  data(): DashboardData {
    return this.dashboard.data();
  }

  @Get('charts.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  charts(): string {
    return readFileSync(path.join(PUBLIC, 'charts.js'), 'utf8');
  }

  @Get('dashboard.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  script(): string {
    return readFileSync(path.join(PUBLIC, 'dashboard.js'), 'utf8');
  }
}
