import Foundation
import Synchronization

/// Set by SIGINT or SIGTERM, so that long work can save and stop at a safe point instead of dying mid-write.
enum InterruptFlag {
    private static let raised = Atomic<Bool>(false)

    /// Installs the handlers (idempotent). A second signal ends the process at once. The signals are also
    /// unblocked on the calling thread: a process started by a parent that blocks them (some test runners and
    /// process supervisors do) inherits the blocked mask and would otherwise never see Ctrl-C.
    static func install() {
        let handler: @convention(c) (Int32) -> Void = { signal in
            if InterruptFlag.raised.exchange(true, ordering: .relaxed) { _exit(128 + signal) }
        }
        signal(SIGINT, handler)
        signal(SIGTERM, handler)
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    static var isRaised: Bool { raised.load(ordering: .relaxed) }
}
