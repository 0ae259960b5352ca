import Tensors
import TestSupport
import Testing
import Training

@Suite("Learning-rate schedules against PyTorch")
struct ScheduleTests {
    let f: Fixture
    init() throws { f = try Fixture("schedules/schedules") }

    func check(_ schedule: Schedule, _ key: String) throws {
        let expected = try f.tensor(key)
        let actual = Tensor(shape: [20]) { schedule.learningRate(step: $0) }
        expectClose(actual, expected, rtol: 1e-5, atol: 1e-9, key)
    }

    @Test("OneCycle: learning rate and momentum")
    func onecycle() throws {
        let schedule = Schedule(kind: .onecycle, learningRate: 0.1, totalSteps: 20)
        try check(schedule, "onecycle_lr")
        expectClose(Tensor(shape: [20]) { schedule.momentum(step: $0)! }, try f.tensor("onecycle_momentum"),
                    rtol: 1e-5, atol: 1e-7, "momentum")
    }

    @Test("poly (nnU-Net) and cosine with linear warm-up")
    func stepSchedules() throws {
        try check(Schedule(kind: .poly, learningRate: 0.1, totalSteps: 20), "poly_lr")
        try check(Schedule(kind: .cosine, learningRate: 0.1, totalSteps: 20, warmupSteps: 5, minimumLearningRate: 1e-4), "cosine_lr")
        #expect(Schedule(kind: .constant, learningRate: 0.3, totalSteps: 5).learningRate(step: 4) == 0.3)
    }

    @Test("ReduceLROnPlateau (max mode) follows the metric sequence")
    func plateau() throws {
        var schedule = Schedule(kind: .plateau, learningRate: 0.1, totalSteps: 20, factor: 0.5, patience: 2)
        let metrics = try f.tensor("plateau_metric").scalars
        var rates: [Float] = []
        for metric in metrics {
            rates.append(schedule.learningRate(step: rates.count))
            schedule.report(metric: Double(metric))
        }
        expectClose(try Tensor(shape: [20], scalars: rates), try f.tensor("plateau_lr"), rtol: 1e-5, atol: 1e-9)
    }
}
