// The answer body of `GET /auth/sessions`, as an OpenAPI model.
import { ApiProperty, ApiResponseModel } from '../../openapi.js';

/** One of the caller's live sessions (`SessionInfo` as JSON: its dates as ISO strings). */
@ApiResponseModel('A live session of the caller, without token material')
export class SessionInfoDto {
  @ApiProperty({ description: 'The id in DELETE /auth/sessions/{id}' })
  readonly id!: string;

  @ApiProperty({ format: 'date-time' })
  readonly createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  readonly lastSeenAt!: string;

  @ApiProperty({ format: 'date-time', description: 'When it ends if unused: the earlier of its absolute and idle expiry' })
  readonly expiresAt!: string;

  @ApiProperty({ type: String, nullable: true, example: 'Mozilla/5.0 (X11; Linux x86_64)' })
  readonly userAgent!: string | null;

  @ApiProperty({ type: String, nullable: true, example: '203.0.113.7' })
  readonly ip!: string | null;

  @ApiProperty({ description: 'The session of the request that asked' })
  readonly current!: boolean;
}
