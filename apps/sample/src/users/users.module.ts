import { Module } from '@nestjs/common';
import { AiModule } from '../ai/ai.module';
import { UsersController } from './users.controller';
import { UsersService } from './users.service';

@Module({
  imports: [AiModule],
  providers: [UsersService],
  controllers: [UsersController],
})
export class UsersModule {}
