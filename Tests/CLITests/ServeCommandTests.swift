import Checkpoints
import Foundation
import ImageIO
import TestSupport
import Testing

/// `unet serve` started on a free loopback port, as CI runs it: every endpoint, the answers against `unet predict`'s
/// files, dynamic batching, the limits and graceful shutdown.
@Suite("unet serve", .serialized)
struct ServeCommandTests {
    static let model = Fixture.path("predict/milesial_c2.pth")
    /// A MONAI UNet of three classes whose masks of the test image hold all three.
    static let mixed = Fixture.path("models/monai_unet_res0.pth")
    static let image = Fixture.path("predict/rgb_45x61.png")

    /// `unet predict` of the test image with `flags`: the file it wrote (`suffix` picks the overlay or the `.npy`).
    static func predicted(_ flags: [String], suffix: String = ".png", model: String = mixed) throws -> [UInt8] {
        let folder = try SyntheticData.temporaryFolder("unet-serve-predict")
        defer { try? FileManager.default.removeItem(at: folder) }
        let mask = folder.appendingPathComponent("m.png").path
        let result = try CommandRunner.unet(["predict", "-m", model, "-i", image, "-o", mask] + flags)
        guard result.status == 0 else { throw CommandRunner.CommandError(description: result.error) }
        return Array(try Data(contentsOf: URL(fileURLWithPath: folder.appendingPathComponent("m" + suffix).path)))
    }

    static func decoded(_ bytes: [UInt8]) throws -> Image { try ImageReader.decode(bytes, path: "answer") }

    @Test("every endpoint; each answer format equals what unet predict writes; the page; metrics; SIGTERM exits 0")
    func endpoints() throws {
        let server = try ServerProcess(["-m", "carvana=" + Self.mixed])
        #expect(server.address.hasPrefix("http://127.0.0.1:"), "binds to loopback by default: \(server.address)")
        try server.waitUntilReady()
        #expect(try server.request("GET", "/healthz").status == 200)
        // Another method on a known path is 405 naming the allowed one; an unknown path is 404 with the same JSON error.
        let put = try server.request("PUT", "/healthz")
        #expect(put.status == 405 && put.headers["allow"] == "GET" && (try? put.json())?["kind"] as? String == "method_not_allowed")
        #expect(try server.request("GET", "/v1/models/carvana/segment").headers["allow"] == "POST")
        let unknown = try server.request("GET", "/nothing/here")
        #expect(unknown.status == 404 && (try? unknown.json())?["kind"] as? String == "not_found")
        #expect(((try? unknown.json())?["error"] as? String)?.contains("GET /nothing/here") == true)

        let models = try server.request("GET", "/v1/models").json()
        let list = try #require(models["models"] as? [[String: Any]])
        #expect(list.count == 1 && list[0]["name"] as? String == "carvana" && (list[0]["classes"] as? [Any])?.count == 3)
        #expect(list[0]["inputChannels"] as? Int == 3 && list[0]["precision"] as? String == "fp32")

        let body = Array(try Data(contentsOf: URL(fileURLWithPath: Self.image)))
        let path = "/v1/models/carvana/segment"
        // The default answer: the mask in the training masks' values, as unet predict writes it.
        let mask = try server.request("POST", path, body: body, headers: ["Content-Type": "image/png"])
        #expect(mask.status == 200 && mask.headers["content-type"] == "image/png")
        #expect(try Self.decoded(mask.body).samples == Self.decoded(try Self.predicted([])).samples)
        for format in ["indices", "palette"] {
            let answer = try server.request("POST", path + "?format=\(format)", body: body, headers: ["Content-Type": "image/png"])
            #expect(answer.status == 200)
            #expect(try Self.decoded(answer.body).samples == Self.decoded(try Self.predicted(["--mask-format", format])).samples, "\(format)")
        }
        let overlay = try server.request("POST", path + "?format=overlay", body: body, headers: ["Content-Type": "image/png"])
        #expect(try Self.decoded(overlay.body).samples == Self.decoded(try Self.predicted(["--viz"], suffix: "_overlay.png")).samples)
        // TTA from the query equals unet predict --tta.
        let tta = try server.request("POST", path + "?tta=true&format=indices", body: body, headers: ["Content-Type": "image/png"])
        #expect(try Self.decoded(tta.body).samples == Self.decoded(try Self.predicted(["--tta", "--mask-format", "indices"])).samples)

        // JSON: the class table with counts that cover the image, and the mask asked for as a data URL.
        let json = try server.request("POST", path + "?format=indices", body: body,
                                      headers: ["Content-Type": "image/png", "Accept": "application/json"]).json()
        #expect(json["width"] as? Int == 61 && json["height"] as? Int == 45 && json["model"] as? String == "carvana")
        let classes = try #require(json["classes"] as? [[String: Any]])
        let indices = try Self.decoded(try Self.predicted(["--mask-format", "indices"])).samples
        #expect(classes.map { $0["pixels"] as? Int ?? -1 } == (0..<3).map { c in indices.filter { $0 == c }.count })
        #expect((0..<3).allSatisfy { c in indices.contains(UInt16(c)) }, "the test image's mask holds every class")
        let shares = classes.compactMap { $0["share"] as? Double }
        #expect(abs(shares.reduce(0, +) - 1) < 1e-9)
        let dataURL = try #require(json["mask"] as? String)
        let png = try #require(Data(base64Encoded: String(dataURL.dropFirst("data:image/png;base64,".count))))
        #expect(try Self.decoded(Array(png)).samples == indices)

        // Probabilities as .npy equal unet predict --save-probabilities.
        let npy = try server.request("POST", path + "?probabilities=true", body: body, headers: ["Content-Type": "image/png"])
        #expect(npy.status == 200 && npy.headers["content-type"] == "application/x-npy")
        let served = try NumpyArray.decode(npy.body, path: "answer")
        let written = try NumpyArray.decode(try Self.predicted(["--save-probabilities"], suffix: ".npy"), path: "predict")
        expectClose(served, written, rtol: 0, atol: 1e-6, "probabilities")

        // multipart/form-data, as an HTML form or curl -F sends it.
        let boundary = "----unet-test-boundary"
        let multipart = Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--\(boundary)\r\nContent-Disposition: form-data; name=\"image\"; filename=\"rgb.png\"\r\nContent-Type: image/png\r\n\r\n".utf8)
            + body + Array("\r\n--\(boundary)--\r\n".utf8)
        let form = try server.request("POST", path, body: multipart, headers: ["Content-Type": "multipart/form-data; boundary=\(boundary)"])
        #expect(form.status == 200 && form.body == mask.body)

        // The page, the OpenAPI document and the metrics.
        let page = try server.request("GET", "/")
        #expect(page.status == 200 && page.text.contains("<canvas id=\"overlay\"") && !page.text.contains("src=\"http"))
        let openapi = try server.request("GET", "/openapi.json").json()
        #expect(openapi["openapi"] as? String == "3.1.0")
        #expect((openapi["paths"] as? [String: Any])?.keys.contains("/v1/models/{name}/segment") == true)
        let metrics = try server.request("GET", "/metrics").text
        #expect(metrics.contains("unet_requests_total{route=\"/v1/models/{name}/segment\",status=\"200\"}"), "\(metrics)")
        #expect(metrics.contains("unet_request_duration_seconds_bucket") && metrics.contains("unet_batch_size_count"))
        #expect(metrics.contains("unet_queue_depth"))

        #expect(server.stop() == 0, "SIGTERM: \(server.error)")
    }

    @Test("concurrent requests are batched and give the same masks as one by one")
    func batching() throws {
        let server = try ServerProcess(["-m", Self.mixed, "-m", Self.model, "--max-batch", "4", "--batch-timeout-ms", "300"])
        try server.waitUntilReady()
        // Images of one size with different content: the test image and its flips and inversions.
        let base = try ImageReader.read(path: Self.image)
        let variants: [[UInt8]] = try (0..<6).map { k in
            var samples = base.samples
            if k % 2 == 1 { samples = samples.map { 255 - $0 } }
            if k >= 2 { samples = Array(samples.reversed()) }
            if k >= 4 { samples = samples.map { ($0 * 7) % 256 } }
            let image = try Image(width: base.width, height: base.height, channels: base.channels, samples: samples)
            return try ImageWriter.encodePNG(image)
        }
        // A milesial model's default mask is 0/255, as unet predict writes it.
        let milesial = try server.request("POST", "/v1/models/milesial_c2/segment", body: try ImageWriter.encodePNG(base),
                                          headers: ["Content-Type": "image/png"])
        #expect(try Self.decoded(milesial.body).samples == Self.decoded(try Self.predicted([], model: Self.model)).samples)
        let path = "/v1/models/monai_unet_res0/segment?format=indices"
        let alone = try variants.map { try server.request("POST", path, body: $0, headers: ["Content-Type": "image/png"]).body }
        let before = try Self.batchCount(server)
        let together = Concurrently.map(variants.count) { k in
            (try? server.request("POST", path, body: variants[k], headers: ["Content-Type": "image/png"]))?.body ?? []
        }
        #expect(together == alone, "a batched request's mask differs from the same request alone")
        #expect(Set(alone).count > 1, "the variants have different masks")
        let batches = try Self.batchCount(server) - before
        #expect(batches < Double(variants.count), "\(variants.count) concurrent requests ran in \(batches) network passes")
        #expect(server.stop() == 0)
    }

    /// `unet_batch_size_count`: network passes so far.
    static func batchCount(_ server: ServerProcess) throws -> Double {
        let metrics = try server.request("GET", "/metrics").text
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("unet_batch_size_count") } ?? ""
        return Double(line.split(separator: " ").last ?? "") ?? -1
    }

    @Test("limits: body size, pixels, bad images, unknown models, parameters, media types, the token, a full queue")
    func limits() throws {
        let folder = try SyntheticData.temporaryFolder("unet-serve-token")
        defer { try? FileManager.default.removeItem(at: folder) }
        let tokenFile = folder.appendingPathComponent("token").path
        try Data("s3cret-token\n".utf8).write(to: URL(fileURLWithPath: tokenFile))
        let server = try ServerProcess(["-m", "m=" + Self.model, "--max-body-mb", "1", "--max-pixels", "2000", "--token-file", tokenFile,
                                        "--max-queue", "1", "--max-batch", "8", "--batch-timeout-ms", "1500"])
        let auth = ["Authorization": "Bearer s3cret-token", "Content-Type": "image/png"]
        try server.waitUntilReady()
        let body = Array(try Data(contentsOf: URL(fileURLWithPath: Self.image)))  // 61x45 = 2745 pixels
        let small = try ImageWriter.encodePNG(try Image(width: 40, height: 40, channels: 3, samples: [UInt16](repeating: 90, count: 4800)))

        func expectError(_ answer: HTTPClient.Response, _ status: Int, _ kind: String, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(answer.status == status, "\(answer.status) \(answer.text)", sourceLocation: sourceLocation)
            let json = try? answer.json()
            #expect(json?["kind"] as? String == kind, "\(answer.text)", sourceLocation: sourceLocation)
            #expect(answer.text.split(separator: "\n").count == 1, "one line", sourceLocation: sourceLocation)
        }
        expectError(try server.request("POST", "/v1/models/m/segment", body: small, headers: ["Content-Type": "image/png"]), 401, "unauthorized")
        expectError(try server.request("POST", "/v1/models/m/segment", body: small,
                                       headers: ["Content-Type": "image/png", "Authorization": "Bearer s3cret-tokem"]), 401, "unauthorized")
        expectError(try server.request("GET", "/v1/models"), 401, "unauthorized")
        #expect(try server.request("GET", "/v1/models", headers: auth).status == 200)
        expectError(try server.request("POST", "/v1/models/nothing/segment", body: small, headers: auth), 404, "unknown_model")
        expectError(try server.request("POST", "/v1/models/m/segment", body: body, headers: auth), 413, "too_many_pixels")
        expectError(try server.request("POST", "/v1/models/m/segment", body: [UInt8](repeating: 7, count: 2 << 20), headers: auth),
                    413, "body_too_large")
        expectError(try server.request("POST", "/v1/models/m/segment", body: Array("not an image".utf8), headers: auth), 400, "bad_image")
        expectError(try server.request("POST", "/v1/models/m/segment", body: Array(small.prefix(60)), headers: auth), 400, "bad_image")
        expectError(try server.request("POST", "/v1/models/m/segment?format=jpeg", body: small, headers: auth), 400, "bad_parameter")
        expectError(try server.request("POST", "/v1/models/m/segment?opacity=2", body: small, headers: auth), 400, "bad_parameter")
        expectError(try server.request("POST", "/v1/models/m/segment", body: small,
                                       headers: ["Authorization": "Bearer s3cret-token", "Content-Type": "application/json"]),
                    415, "unsupported_media_type")
        expectError(try server.request("POST", "/v1/models/m/segment", body: small,
                                       headers: ["Authorization": "Bearer s3cret-token", "Content-Type": "multipart/form-data; boundary=x"]),
                    400, "bad_multipart")

        // A full queue: the first request waits 1.5 s for a batch; a second within that time is refused with Retry-After.
        let answers = Concurrently.map(2) { k -> HTTPClient.Response? in
            if k == 1 { usleep(500_000) }
            return try? server.request("POST", "/v1/models/m/segment", body: small, headers: auth)
        }
        #expect(answers[0]?.status == 200)
        let refused = try #require(answers[1])
        expectError(refused, 503, "queue_full")
        #expect(refused.headers["retry-after"] == "1")
        let metrics = try server.request("GET", "/metrics").text
        #expect(metrics.contains("unet_errors_total{kind=\"too_many_pixels\"} 1"), "\(metrics)")
        #expect(metrics.contains("unet_queue_rejections_total 1"))
        #expect(server.stop() == 0)
    }

    @Test("SIGTERM while a request waits: it is answered, then the server exits 0; a stalled body times out")
    func drainAndTimeouts() throws {
        let server = try ServerProcess(["-m", Self.model, "--batch-timeout-ms", "1500", "--request-timeout", "2"])
        try server.waitUntilReady()
        // A client that declares 1000 bytes and sends 10 gets an answer or a closed connection soon after the timeout.
        let start = Date()
        let stalled = try HTTPClient.exchange(
            port: server.port,
            bytes: Array("POST /v1/models/milesial_c2/segment HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 1000\r\n\r\n0123456789".utf8),
            timeout: 30)
        #expect(Date().timeIntervalSince(start) < 15, "a stalled body held the connection for \(Date().timeIntervalSince(start)) s")
        if !stalled.isEmpty { #expect(try HTTPClient.parse(stalled).status == 408) }

        let body = Array(try Data(contentsOf: URL(fileURLWithPath: Self.image)))
        let results = Concurrently.map(2) { k -> (answer: HTTPClient.Response?, status: Int32?) in
            if k == 0 {
                return (try? server.request("POST", "/v1/models/milesial_c2/segment", body: body, headers: ["Content-Type": "image/png"]), nil)
            }
            usleep(400_000)
            return (nil, server.stop())
        }
        #expect(results[0].answer?.status == 200, "the request in flight was not answered: \(server.error)")
        #expect(results[1].status == 0, "\(server.error)")
    }

    @Test("the page in headless Chromium: an image picked shows the overlay unet predict --viz draws, the class table, the opacity slider")
    func browser() throws {
        #expect(FileManager.default.isExecutableFile(atPath: HeadlessChromium.path), "Chromium is missing: scripts/bootstrap.sh installs it")
        guard FileManager.default.isExecutableFile(atPath: HeadlessChromium.path) else { return }
        let server = try ServerProcess(["-m", Self.mixed])
        try server.waitUntilReady()
        let browser = try HeadlessChromium(url: server.address + "/")
        try browser.waitFor("document.getElementById('status').textContent.startsWith('Pick')")
        #expect(try browser.evaluate("document.getElementById('model').value") as? String == "monai_unet_res0")
        try browser.setFile("#file", Self.image)
        try browser.waitFor("document.getElementById('status').textContent.startsWith('done')")

        // The overlay as the page draws it, pixel for pixel against unet predict --viz (opacity 0.45, class 0 untinted).
        let expected = try Self.decoded(try Self.predicted(["--viz"], suffix: "_overlay.png"))
        try Self.expectSame(try Self.decoded(try browser.screenshot("#overlay")), expected)
        // Beside it, the image itself.
        try Self.expectSame(try Self.decoded(try browser.screenshot("#image")), try ImageReader.read(path: Self.image))
        // The class table: one row per class, shares that add up to 100 %.
        let rows = try browser.evaluate("[...document.querySelectorAll('#classes tr')].map(r => r.cells[3].textContent)") as? [String] ?? []
        #expect(rows.count == 3)
        let total = rows.compactMap { Double($0.replacingOccurrences(of: " %", with: "")) }.reduce(0, +)
        #expect(abs(total - 100) < 0.2, "\(rows)")
        // The slider redraws at another opacity, as the server's own overlay draws it.
        _ = try browser.evaluate("(() => { const o = document.getElementById('opacity'); o.value = '0.8'; o.dispatchEvent(new Event('input')); return true; })()")
        let body = Array(try Data(contentsOf: URL(fileURLWithPath: Self.image)))
        let served = try server.request("POST", "/v1/models/monai_unet_res0/segment?format=overlay&opacity=0.8", body: body,
                                        headers: ["Content-Type": "image/png"])
        try Self.expectSame(try Self.decoded(try browser.screenshot("#overlay")), try Self.decoded(served.body))
        #expect(server.stop() == 0)
    }

    /// A screenshot (RGB or RGBA) against an RGB image: same size, every channel within 1.
    static func expectSame(_ screenshot: Image, _ expected: Image, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(screenshot.width == expected.width && screenshot.height == expected.height,
                "\(screenshot.width)x\(screenshot.height) against \(expected.width)x\(expected.height)", sourceLocation: sourceLocation)
        guard screenshot.width == expected.width, screenshot.height == expected.height else { return }
        var worst = 0
        for i in 0..<(expected.width * expected.height) {
            for k in 0..<3 {
                worst = max(worst, abs(Int(screenshot.samples[i * screenshot.channels + k]) - Int(expected.samples[i * expected.channels + k])))
            }
        }
        #expect(worst <= 1, "the page's overlay differs by up to \(worst) levels", sourceLocation: sourceLocation)
    }

    @Test("bad flags and models: one line naming the flag or file, non-zero exit")
    func badFlags() throws {
        let cases: [([String], String)] = [
            (["serve"], "--model"),
            (["serve", "-m", Self.model, "--port", "70000"], "--port"),
            (["serve", "-m", Self.model, "--max-batch", "0"], "--max-batch"),
            (["serve", "-m", "a=" + Self.model, "-m", "a=" + Self.model], "two models named 'a'"),
            (["serve", "-m", "b@d=" + Self.model], "the name 'b@d'"),
            (["serve", "-m", "/nonexistent/model.pth"], "/nonexistent/model.pth"),
            (["serve", "-m", Self.model, "--token-file", "/nonexistent/token"], "/nonexistent/token"),
            (["serve", "-m", Self.model, "--log-level", "loud"], "--log-level"),
        ]
        for (arguments, expected) in cases {
            let result = try CommandRunner.unet(arguments)
            #expect(result.status != 0, "\(arguments)")
            // The first line names the problem (ArgumentParser follows a flag's error with the usage).
            let first = result.error.split(separator: "\n").first ?? ""
            #expect(first.hasPrefix("Error: ") && first.contains(expected), "\(arguments): \(result.error)")
        }
    }
}
