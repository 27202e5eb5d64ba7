import { type ExecutionContext, Controller, Get, Injectable, Module, UseInterceptors } from '@nestjs/common';
import { CacheInterceptor, CacheModule } from '@strata/cache/compat';
import { Calls, CallsModule } from '../start-app';

/** "Adjust tracking": a subclass of CacheInterceptor whose trackBy() returns the key. */
@Injectable()
class HttpCacheInterceptor extends CacheInterceptor {
  override trackBy(context: ExecutionContext): string | undefined {
    return 'key';
  }
}

/** A more realistic override: the key from a header (`Authorization`, per the docs' text), async as cache-manager allows. */
@Injectable()
class PerUserCacheInterceptor extends CacheInterceptor {
  override async trackBy(context: ExecutionContext): Promise<string | undefined> {
    const request = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; url: string }>();
    const user = request.headers.authorization;
    return user === undefined ? undefined : `${user}:${request.url}`;
  }
}

@Controller()
export class AppController {
  constructor(private readonly calls: Calls) {}

  @Get(['one', 'two'])
  @UseInterceptors(HttpCacheInterceptor)
  any(): { run: number } {
    return { run: this.calls.hit('any') };
  }

  @Get('profile')
  @UseInterceptors(PerUserCacheInterceptor)
  profile(): { run: number } {
    return { run: this.calls.hit('profile') };
  }
}

@Module({
  imports: [CacheModule.register(), CallsModule],
  controllers: [AppController],
})
export class AppModule {}
