import Hummingbird

/// Answers a request for a path that no route serves as the service answers every refusal, with a one-line JSON
/// error (404, kind `not_found`), instead of the framework's empty 404.
struct UnknownPathAnswer<Context: RequestContext>: RouterMiddleware {
    /// Turns the refusal into its response, counting it in the metrics.
    let answer: @Sendable (APIError) async -> Response

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let path = request.uri.path
            return await answer(APIError(.notFound, "not_found", "no route for \(request.method.rawValue) \(path.prefix(80))"
                                             + (path.count > 80 ? "..." : "") + " (GET /openapi.json lists the routes)"))
        }
    }
}
