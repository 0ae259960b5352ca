import Foundation
import TestSupport
import Testing

@Suite("unet plan and unet train --auto --time")
struct PlanCommandTests {
    @Test("plan --json: the fingerprint and a recipe whose every decision has a reason; bad --time is one line")
    func planJSON() throws {
        let folder = try SyntheticData.temporaryFolder("unet-plan")
        defer { try? FileManager.default.removeItem(at: folder) }
        try SyntheticData.writeDiscs(to: folder, count: 12, size: 48)
        let result = try CommandRunner.unet(["plan", folder.path, "--time", "2m", "--json"])
        #expect(result.status == 0, "\(result.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        let fingerprint = try #require(object["fingerprint"] as? [String: Any])
        let recipe = try #require(object["recipe"] as? [String: Any])
        #expect(fingerprint["images"] as? Int == 11 && fingerprint["sourceChannels"] as? Int == 1)
        #expect((fingerprint["classes"] as? [Any])?.count == 2)
        #expect(recipe["inputChannels"] as? Int == 1 && recipe["classes"] as? Int == 2)
        #expect([8, 16, 32, 64].contains(recipe["base"] as? Int ?? 0))
        #expect(recipe["budgetSeconds"] as? Double == 120)
        let decisions = try #require(recipe["decisions"] as? [[String: String]])
        #expect(decisions.count >= 15 && decisions.allSatisfy { !($0["reason"] ?? "").isEmpty })
        // The table names the same decisions.
        let table = try CommandRunner.unet(["plan", folder.path, "--time", "2m"])
        #expect(table.status == 0 && table.output.contains("fingerprint:") && table.output.contains("--base"))

        for bad in ["30", "5x", "-1m", "0s", "999d"] {
            let refused = try CommandRunner.unet(["plan", folder.path, "--time", bad])
            #expect(refused.status != 0 && refused.error.contains("--time"), "\(bad): \(refused.error)")
        }
        let nothing = try CommandRunner.unet(["plan", folder.appendingPathComponent("images").path])
        #expect(nothing.status != 0 && nothing.error.split(separator: "\n").count == 1, "\(nothing.error)")
    }

    @Test("train --auto --time 20s: plans, prints each decision, keeps a given flag (--min-lr checked against the recipe's rate, not milesial's), ends by the budget with best and last models")
    func autoRun() throws {
        let folder = try SyntheticData.temporaryFolder("unet-auto")
        defer { try? FileManager.default.removeItem(at: folder) }
        let (images, masks) = try SyntheticData.writeDiscs(to: folder, count: 12, size: 48)
        let output = folder.appendingPathComponent("run").path
        let started = Date()
        let result = try CommandRunner.unet(["train", "--images", images, "--masks", masks, "--auto", "--time", "20s",
                                             "--batch-size", "3", "--min-lr", "1e-4", "--output-dir", output])
        let wall = Date().timeIntervalSince(started)
        #expect(result.status == 0, "\(result.error)")
        #expect(result.error.contains("recipe (budget 20s"), "\(result.error)")
        #expect(result.error.contains("--batch-size") && result.error.contains("given"))
        #expect(result.error.split(separator: "\n").contains { $0.trimmingCharacters(in: .whitespaces).hasPrefix("--min-lr") && $0.contains("0.0001") && $0.contains("given") },
                "\(result.error)")
        #expect(result.error.contains("--optimizer") && result.error.contains("--steps"))
        for name in ["best.safetensors", "last.safetensors", "metrics.jsonl", "training_curves.png"] {
            #expect(FileManager.default.fileExists(atPath: output + "/" + name), "\(name)")
        }
        // The budget holds (the process's start-up aside); the model records the plan's prediction settings.
        #expect(wall < 20 + 8, "took \(wall) s")
        let info = try CommandRunner.unet(["info", output + "/best.safetensors", "--json"])
        #expect(info.status == 0 && info.output.contains("\"normalization\""), "\(info.output)")
        let log = try String(contentsOfFile: output + "/metrics.jsonl", encoding: .utf8)
        #expect(log.contains("\"secondsLeft\""))

        // The flags the recipe prints ("on": the flag alone; "off" and "none": left out), given to a run without --auto (as
        // `mpirun unet train` takes them; one step), train with the optimizer --auto trained with.
        let printed = result.error.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            .filter { $0.count >= 2 && $0[0].hasPrefix("--") && !["--steps", "--validate-every"].contains($0[0]) && !["none", "off"].contains($0[1]) }
        #expect(printed.contains { $0[0] == "--optimizer" } && printed.contains { $0[0] == "--weight-decay" }, "\(result.error)")
        let flags = printed.flatMap { $0[1] == "on" ? [$0[0]] : [$0[0], $0[1]] }
        let optimizerLine = { (text: String) in text.split(separator: "\n").first { $0.hasPrefix("optimizer: ") }.map(String.init) }
        let copied = try CommandRunner.unet(["train", "--images", images, "--masks", masks, "--steps", "1", "--output-dir",
                                             folder.appendingPathComponent("copied").path] + flags)
        #expect(copied.status == 0, "\(flags): \(copied.error)")
        #expect(optimizerLine(result.error) != nil && optimizerLine(copied.error) == optimizerLine(result.error),
                "\(flags): \(copied.error)")

        let refused = try CommandRunner.unet(["train", "--images", images, "--masks", masks, "--auto", "--arch", "basic-unet"])
        #expect(refused.status != 0 && refused.error.contains("--auto"))
    }
}
