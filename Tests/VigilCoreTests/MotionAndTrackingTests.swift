import Foundation
import Testing
import VigilCore

@Suite("Motion detection and gating")
struct MotionDetectionTests {
    /// A 320×180 scene: a grey gradient with a little per-frame sensor noise, and optionally a
    /// dark square (a person-sized blob) at `blob`.
    func scene(blob: (x: Int, y: Int)? = nil, brightness: Int = 0, noise: UInt64 = 1) -> GrayImage {
        var random = noise
        var pixels = [UInt8](repeating: 0, count: 320 * 180)
        for y in 0..<180 {
            for x in 0..<320 {
                random = random &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                let jitter = Int(random >> 61) - 3
                var value = 60 + x / 4 + y / 3 + jitter + brightness
                if let blob, (blob.x..<blob.x + 30).contains(x), (blob.y..<blob.y + 60).contains(y) { value = 10 }
                pixels[y * 320 + x] = UInt8(clamping: value)
            }
        }
        return GrayImage(width: 320, height: 180, pixels: pixels)
    }

    @Test("the first frame counts as motion; the same scene again with sensor noise does not")
    func unchanged() {
        var detector = MotionDetector()
        #expect(detector.observe(scene(noise: 1)).isFirstFrame)
        for seed in 2...6 {
            let report = detector.observe(scene(noise: UInt64(seed)))
            #expect(!report.hasMotion && report.regions.isEmpty, "frame \(seed): \(report)")
        }
    }

    @Test("an object appearing is motion, boxed where it appeared")
    func appearing() throws {
        var detector = MotionDetector()
        _ = detector.observe(scene())
        let report = detector.observe(scene(blob: (200, 60)))
        #expect(report.hasMotion && !report.isLightingChange)
        let region = try #require(report.regions.first)
        #expect(report.regions.count == 1)
        // The blob covers x 200–230 of 320 and y 60–120 of 180; a cell of growth either side is allowed.
        #expect(abs(region.x1 - 200.0 / 320) < 0.03 && abs(region.x2 - 230.0 / 320) < 0.03)
        #expect(abs(region.y1 - 60.0 / 180) < 0.05 && abs(region.y2 - 120.0 / 180) < 0.05)
    }

    @Test("the whole picture brightening is a lighting change: the background resets, and the next frame is calm")
    func lighting() {
        var detector = MotionDetector()
        _ = detector.observe(scene())
        #expect(detector.observe(scene(brightness: 80)).isLightingChange)
        #expect(!detector.observe(scene(brightness: 80, noise: 9)).hasMotion)
    }

    @Test("a change of frame size starts over instead of comparing different pictures")
    func resized() {
        var detector = MotionDetector()
        _ = detector.observe(scene())
        #expect(detector.observe(scene().resized(width: 160, height: 120)).isFirstFrame)
    }

    @Test("the gate skips a calm frame with the reason, and lets one through after the refresh interval")
    func gate() {
        let settings = MotionSettings()
        let calm = MotionReport(changedArea: 0.0001, regions: [], isFirstFrame: false, isLightingChange: false, hasMotion: false)
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        guard case .skip(let reason) = MotionGate.decide(calm, settings: settings, lastAnalysedAt: start, at: start.addingTimeInterval(5)) else {
            Issue.record("a calm frame went through")
            return
        }
        #expect(reason == "no motion: 0.01% of the picture changed")
        #expect(MotionGate.decide(calm, settings: settings, lastAnalysedAt: start, at: start.addingTimeInterval(61))
                == .analyse(reason: "periodic refresh"))
        var moving = calm
        moving.hasMotion = true
        #expect(MotionGate.decide(moving, settings: settings, lastAnalysedAt: start, at: start.addingTimeInterval(1)) == .analyse(reason: "motion"))
    }
}

@Suite("Object tracking and stationary objects")
struct ObjectTrackingTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    func car(_ x: Double, confidence: Double = 0.8) -> ObjectDetection {
        ObjectDetection(label: "car", confidence: confidence, box: PixelBox(x1: x, y1: 100, x2: x + 200, y2: 220))
    }

    @Test("a moving object keeps its track from frame to frame; another class or a far object starts a new one")
    func association() {
        var tracker = ObjectTracker(tracks: [])
        let first = tracker.update(with: [car(100)], at: start)
        #expect(first.map(\.isNewTrack) == [true])
        let second = tracker.update(with: [car(140), ObjectDetection(label: "person", confidence: 0.9, box: PixelBox(x1: 150, y1: 90, x2: 200, y2: 230)),
                                           car(900)], at: start.addingTimeInterval(1))
        #expect(second.map(\.isNewTrack) == [false, true, true])
        #expect(second[0].track == first[0].track)
        #expect(tracker.tracks.count == 3)
    }

    @Test("a fast object between sparse frames is matched by its centre when the boxes no longer overlap much")
    func centreMatch() {
        var tracker = ObjectTracker(tracks: [])
        _ = tracker.update(with: [car(100)], at: start)
        #expect(tracker.update(with: [car(180)], at: start.addingTimeInterval(1)).first?.isNewTrack == false)
    }

    @Test("a track unseen for longer than its max age has ended; the object seen again starts a new one")
    func maxAge() {
        var tracker = ObjectTracker(tracks: [])
        _ = tracker.update(with: [car(100)], at: start)
        #expect(tracker.update(with: [car(100)], at: start.addingTimeInterval(16)).first?.isNewTrack == true)
    }

    @Test("an object that stays put becomes stationary after the configured time; moving makes it active again")
    func stationary() {
        var settings = TrackerSettings()
        settings.stationaryAfter = 30
        var tracker = ObjectTracker(tracks: [], settings: settings)
        for second in stride(from: 0.0, through: 25, by: 5) {
            let update = tracker.update(with: [car(100 + second / 10)], at: start.addingTimeInterval(second))
            #expect(!tracker.tracks[update[0].track].isStationary, "at \(second) s")
        }
        let parked = tracker.update(with: [car(101)], at: start.addingTimeInterval(30))
        #expect(tracker.tracks[parked[0].track].isStationary)
        let leaving = tracker.update(with: [car(160)], at: start.addingTimeInterval(35))
        #expect(leaving[0].track == parked[0].track && !tracker.tracks[leaving[0].track].isStationary)
    }

    @Test("a sighting clearly better than the track's best is flagged for a new thumbnail; a late frame does not move the track back")
    func bestAndLate() {
        var tracker = ObjectTracker(tracks: [])
        _ = tracker.update(with: [car(100, confidence: 0.6)], at: start)
        #expect(tracker.update(with: [car(105, confidence: 0.62)], at: start.addingTimeInterval(2)).first?.isBestSoFar == false)
        #expect(tracker.update(with: [car(110, confidence: 0.8)], at: start.addingTimeInterval(3)).first?.isBestSoFar == true)
        let late = tracker.update(with: [car(102)], at: start.addingTimeInterval(1))
        #expect(late.first?.isNewTrack == false)
        #expect(tracker.tracks[0].lastSeenAt == start.addingTimeInterval(3) && tracker.tracks[0].box.x1 == 110)
    }
}

@Suite("What frames are analysed for")
struct DetectionSettingsTests {
    @Test("the server's list of objects reads classes with or without their own confidence")
    func objects() throws {
        #expect(try DetectionSettings.parseObjects("person:0.6, car ,dog:0.5") == ["person": 0.6, "car": 0.4, "dog": 0.5])
        #expect(throws: ValidationProblem.self) { try DetectionSettings.parseObjects("person:2") }
        #expect(throws: ValidationProblem.self) { try DetectionSettings.parseObjects(" , ") }
    }

    @Test("a camera's config overrides the defaults, and what is wrong in it is named")
    func cameraConfig() throws {
        let config = try JSONDecoder().decode(JSONValue.self, from: Data("""
            {"detect": {"objects": {"person": 0.7, "cat": 0.5}, "stationary_seconds": 120, "restrict_to_motion": false},
             "motion": {"enabled": false, "threshold": 40}}
            """.utf8))
        var report = ValidationReport()
        let settings = DetectionSettings().applying(cameraConfig: config, report: &report)
        #expect(report.isValid)
        #expect(settings.objects == ["person": 0.7, "cat": 0.5])
        #expect(settings.tracker.stationaryAfter == 120 && !settings.restrictToMotion)
        #expect(!settings.motion.enabled && settings.motion.pixelThreshold == 40)

        let bad = try JSONDecoder().decode(JSONValue.self, from: Data("""
            {"detect": {"objects": {"person": 3}, "stationary_seconds": "long"}, "motion": {"threshold": 0}}
            """.utf8))
        var problems = ValidationReport()
        let kept = DetectionSettings().applying(cameraConfig: bad, report: &problems)
        #expect(Set(problems.problems.map(\.field))
                == ["config.detect.objects.person", "config.detect.stationary_seconds", "config.motion.threshold"])
        #expect(kept == DetectionSettings(), "nothing wrong is applied")
    }

    @Test("a camera whose config is wrong is refused when it is written")
    func cameraValidation() throws {
        let input = CameraInput(name: "Gate", config: .object(["motion": .object(["min_area": .number(5)])]))
        #expect(input.validate().problems.map(\.field) == ["config.motion.min_area"])
    }
}

@Suite("Model output decoding")
struct ModelDecodingTests {
    @Test("a centred letterbox pads both sides as Ultralytics does, and boxes come back to the frame")
    func centred() {
        let letterbox = Letterbox(width: 1920, height: 1080, inputWidth: 640, inputHeight: 640, placement: .centre)
        #expect(letterbox.scaledWidth == 640 && letterbox.scaledHeight == 360 && letterbox.offsetX == 0 && letterbox.offsetY == 140)
        let box = letterbox.frameBox(centerX: 320, centerY: 320, width: 64, height: 36)
        #expect(box == PixelBox(x1: 864, y1: 486, x2: 1056, y2: 594))
    }

    @Test("YOLOv8's column-major output: best class per anchor, no objectness")
    func yolov8() {
        // Two anchors, two classes: anchor 0 a confident "b" at (100, 50) 20×10; anchor 1 below the threshold.
        let output: [Float] = [100, 300, 50, 300, 20, 10, 10, 10, 0.1, 0.2, 0.9, 0.1]
        let letterbox = Letterbox(width: 640, height: 640, inputWidth: 640, inputHeight: 640, placement: .centre)
        let found = output.withUnsafeBufferPointer {
            YOLOv8Decoder.decode($0, anchors: 2, classes: ["a", "b"], letterbox: letterbox, frameWidth: 640, frameHeight: 640, minimumScore: 0.3)
        }
        #expect(found == [ObjectDetection(label: "b", confidence: Double(Float(0.9)), box: PixelBox(x1: 90, y1: 45, x2: 110, y2: 55))])
    }

    @Test("class names from an Ultralytics export's metadata, in index order")
    func names() {
        #expect(YOLOv8Decoder.classNames(fromMetadata: "{0: 'person', 2: \"car\", 1: 'bicycle'}") == ["person", "bicycle", "car"])
        #expect(YOLOv8Decoder.classNames(fromMetadata: "{0: 'person', 2: 'car'}") == nil, "a gap means the names cannot be trusted")
    }
}
