import Foundation
import Testing
import Workflows

@Suite("Time budget: the deadline's arithmetic on a fake clock")
struct TimeBudgetTests {
    let start = Date(timeIntervalSince1970: 1_000_000)

    @Test("before any timing, a step is allowed while the closing validation and checkpoints fit")
    func untimed() {
        let budget = TimeBudget(deadline: start.addingTimeInterval(10), estimatedValidationSeconds: 2)
        #expect(budget.closingSeconds == 3)
        #expect(budget.allowsStep(at: start.addingTimeInterval(7)))
        #expect(!budget.allowsStep(at: start.addingTimeInterval(7.5)))
        #expect(budget.stepsThatFit(at: start, validateEvery: 10) == nil)
    }

    @Test("the median of recent steps sets the pace: an outlier (a compilation) does not")
    func median() {
        var budget = TimeBudget(deadline: start.addingTimeInterval(100), estimatedValidationSeconds: 1)
        for seconds in [0.5, 9.0, 0.5, 0.6, 0.4] { budget.recordStep(seconds: seconds) }
        #expect(budget.secondsPerStep == 0.5)
        budget.recordValidation(seconds: 3)
        budget.recordCheckpoint(seconds: 0.25)
        budget.recordCheckpoint(seconds: 0.1)  // the slowest checkpoint is kept
        #expect(budget.closingSeconds == 3.5)
        // 100 s left: 3.5 s to close, then steps of 0.5 s with a validation of 3 + 2 x 0.25 s every 35 steps.
        #expect(budget.stepsThatFit(at: start, validateEvery: 35) == Int((100 - 3.5) / (0.5 + 3.5 / 35)))
        #expect(budget.allowsStep(at: start.addingTimeInterval(96)))
        #expect(!budget.allowsStep(at: start.addingTimeInterval(96.1)))
        #expect(budget.stepsThatFit(at: start.addingTimeInterval(99), validateEvery: 1) == 0)
    }

    @Test("a run closing with the test-time flips check keeps four more validation passes and a checkpoint for its end, not for each validation")
    func flipsCheck() {
        var budget = TimeBudget(deadline: start.addingTimeInterval(100), estimatedValidationSeconds: 2, closesWithFlipsCheck: true)
        #expect(budget.validationRoundSeconds == 3 && budget.closingSeconds == 3 + 4 * 2 + 0.5)
        budget.recordStep(seconds: 0.5)
        #expect(budget.stepsThatFit(at: start, validateEvery: 10) == Int((100 - 11.5) / (0.5 + 3.0 / 10)))
        #expect(!budget.allowsStep(at: start.addingTimeInterval(88.1)))
    }

    @Test("only the last steps count: the pace follows a change of speed")
    func window() {
        var budget = TimeBudget(deadline: start.addingTimeInterval(100))
        for _ in 0..<50 { budget.recordStep(seconds: 2) }
        for _ in 0..<15 { budget.recordStep(seconds: 1) }
        #expect(budget.secondsPerStep == 1)
    }
}
