import Foundation
import TestSupport
import Testing

@Suite("unet demo")
struct DemoCommandTests {
    @Test("trains on generated data and the held-out IoU rises well above its starting point")
    func learns() throws {
        let (status, output, error) = try CommandRunner.unet(["demo", "--steps", "40", "--size", "32"])
        #expect(status == 0, "\(error)")
        let line = try #require(output.split(separator: "\n").first { $0.hasPrefix("held-out:") })
        // "held-out: pixel accuracy A -> B, disc IoU C -> D"
        let numbers = line.split(whereSeparator: { " ,>".contains($0) }).compactMap { Float($0) }
        #expect(numbers.count == 4, "\(line)")
        let (iouBefore, iouAfter) = (numbers[2], numbers[3])
        #expect(iouAfter > 0.7 && iouAfter > iouBefore + 0.3, "\(line)")
    }

    @Test("bad options give a one-line error naming the flag and a non-zero exit")
    func badOptions() throws {
        let (status, _, error) = try CommandRunner.unet(["demo", "--size", "7"])
        #expect(status != 0)
        #expect(error.contains("--size"))
        let unknown = try CommandRunner.unet(["demo", "--steps", "many"])
        #expect(unknown.status != 0 && unknown.error.contains("--steps"))
    }

    @Test("--help lists the subcommands")
    func help() throws {
        let (status, output, _) = try CommandRunner.unet(["--help"])
        #expect(status == 0 && output.contains("demo"))
    }
}
