import ArgumentParser

/// A user-facing failure: one line on standard error and exit status 1, never a stack trace.
struct CLIError: Error, CustomStringConvertible {
    let description: String

    /// Runs `body`, turning any error into a one-line `CLIError` (ArgumentParser prints it as `Error: ...`); a
    /// `ValidationError` or an `ExitCode` (a status with nothing to say) passes as it is.
    static func reporting<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as ValidationError {
            throw error
        } catch let error as ExitCode {
            throw error
        } catch {
            throw CLIError(description: "\(error)")
        }
    }
}
