import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
import VigilCore
@testable import VigilServer
import VigilTestSupport

/// The `deepstack` detector type: frames analysed by a remote server speaking the DeepStack /
/// CodeProject.AI API. The remote server here is Vigil's own DeepStack-compatible endpoint, on a
/// real port.
@Suite("Remote DeepStack-compatible detector")
struct RemoteDetectorTests {
    let dog: [UInt8]

    init() throws {
        dog = Array(try Data(contentsOf: URL(fileURLWithPath: "/usr/share/darknet/data/dog.jpg")))
    }

    @Test("a DeepStack server's answer becomes detections in the frame's pixels, as the local model finds them")
    func remote() async throws {
        try await TestApp.run(live: true) { app in
            let port = try #require(app.client.port)
            let key = try await app.apiKey(role: "api_client")
            let remote = DeepStackDetector(baseURL: "http://127.0.0.1:\(port)", timeout: .seconds(20), minimumConfidence: 0.4, apiKey: key)
            let found = try await remote.detect(jpeg: dog)
            #expect(found.detector == "deepstack" && found.width == 768 && found.height == 576 && found.image == nil)
            let local = try await TestModels.objectDetector.detect(jpeg: dog).detections.filter { $0.confidence >= 0.4 }
            #expect(Set(found.detections.map(\.label)) == Set(local.map(\.label)))
            for detection in local {
                // DeepStack's corners are whole pixels.
                #expect(found.detections.contains { $0.label == detection.label && $0.box.iou(detection.box) > 0.98 }, "\(detection)")
            }

            // A picture the server cannot read fails for good; a refused key is the server's problem, worth retrying.
            await #expect(throws: DetectorError.self) { try await remote.detect(jpeg: [0xFF, 0xD8, 0xFF, 0xD9]) }
            let wrongKey = DeepStackDetector(baseURL: "http://127.0.0.1:\(port)/v1/vision/detection", timeout: .seconds(20),
                                             minimumConfidence: 0.4, apiKey: "vgl_wrong")
            let refused = await #expect(throws: DetectorError.self) { try await wrongKey.detect(jpeg: dog) }
            guard case .unavailable(let reason)? = refused else { Issue.record("\(String(describing: refused))"); return }
            #expect(reason.contains("401"), "\(reason)")
        }
    }

    @Test("a remote detector that is down or silent is unavailable after its timeout; with a fallback, the local model answers")
    func fallback() async throws {
        // A server that accepts connections and never answers.
        let group = MultiThreadedEventLoopGroup.singleton
        let silent = try await ServerBootstrap(group: group).bind(host: "127.0.0.1", port: 0).get()
        defer { silent.close(promise: nil) }
        let silentPort = try #require(silent.localAddress?.port)
        let slow = DeepStackDetector(baseURL: "http://127.0.0.1:\(silentPort)", timeout: .milliseconds(300), minimumConfidence: 0.4)
        let silence = await #expect(throws: DetectorError.self) { try await slow.detect(jpeg: dog) }
        guard case .unavailable? = silence else { Issue.record("\(String(describing: silence))"); return }

        let down = DeepStackDetector(baseURL: "http://127.0.0.1:\(try freeLocalPort())", timeout: .seconds(5), minimumConfidence: 0.4)
        let withFallback = FallbackObjectDetector(primary: down, fallback: TestModels.objectDetector, logger: TestApp.logger)
        let found = try await withFallback.detect(jpeg: dog)
        #expect(found.detector == "yolox (for deepstack)")
        #expect(Set(found.detections.filter { $0.confidence >= 0.5 }.map(\.label)) == ["dog", "bicycle", "car"])
        // A frame that cannot be read is not handed to the fallback: it would fail there too.
        let unreadable = FallbackObjectDetector(primary: TestModels.objectDetector, fallback: down, logger: TestApp.logger)
        await #expect(throws: DetectorError.unreadableFrame("Premature end of JPEG file")) {
            try await unreadable.detect(jpeg: Array(dog.prefix(400)))
        }
    }

    @Test("the configuration names the detector, its address, timeout and fallback, and refuses what cannot work")
    func configuration() throws {
        let remote = try ServerConfiguration.load(environment: [
            "VIGIL_DETECTOR": "deepstack", "VIGIL_DETECTOR_URL": "http://ai-box:32168", "VIGIL_DETECTOR_TIMEOUT": "2.5",
            "VIGIL_DETECTOR_FALLBACK": "yolox", "VIGIL_DETECT_OBJECTS": "person:0.6,car",
        ])
        #expect(remote.detector.kind == .deepstack && remote.detector.url == "http://ai-box:32168")
        #expect(remote.detector.timeout == 2.5 && remote.detector.fallback)
        #expect(remote.detection.objects == ["person": 0.6, "car": 0.4])
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.load(environment: ["VIGIL_DETECTOR": "deepstack"]) }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.load(environment: ["VIGIL_DETECTOR": "yolov8"]) }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.load(environment: ["VIGIL_DETECTOR": "tensorflow"]) }
        #expect(throws: ConfigurationError.self) { try ServerConfiguration.load(environment: ["VIGIL_DETECT_OBJECTS": "person:high"]) }
    }
}
