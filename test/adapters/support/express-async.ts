// Express 5 passes a rejected promise from a handler to the error middleware; Express 4 does not
// (the request would hang). The test apps run on both majors (scripts/test-frameworks.sh), so
// their async handlers go through this, as an Express 4 app's do (or express-async-errors).
// The rejection is forwarded from the handler's own async context: the error middleware still
// runs in the request's scope.
import type { NextFunction, Request, RequestHandler, Response } from 'express';

export function forwardRejection<Req extends Request = Request>(
  handler: (req: Req, res: Response, next: NextFunction) => Promise<unknown>,
): RequestHandler {
  return (req, res, next) => {
    handler(req as Req, res, next).catch(next);
  };
}
