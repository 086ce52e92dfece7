import Foundation
import Testing
import VigilCore

@Suite("Face geometry")
struct FaceGeometryTests {
    @Test("the similarity found between landmarks and the template undoes a rotation, a scale and a shift")
    func similarity() throws {
        let angle = 0.3, scale = 2.5
        let turned = SimilarityTransform.faceTemplate.map { point in
            FacePoint(x: scale * (cos(angle) * point.x - sin(angle) * point.y) + 40, y: scale * (sin(angle) * point.x + cos(angle) * point.y) - 7)
        }
        let transform = try #require(SimilarityTransform(from: turned, to: SimilarityTransform.faceTemplate))
        for (point, target) in zip(turned, SimilarityTransform.faceTemplate) {
            let mapped = transform.apply(point)
            #expect(abs(mapped.x - target.x) < 1e-9 && abs(mapped.y - target.y) < 1e-9)
            let back = transform.inverse(mapped)
            #expect(abs(back.x - point.x) < 1e-9 && abs(back.y - point.y) < 1e-9)
        }
        #expect(SimilarityTransform(from: Array(repeating: FacePoint(x: 1, y: 1), count: 5), to: SimilarityTransform.faceTemplate) == nil)
    }

    @Test("quality grows with size, sharpness and a frontal pose; overlapping faces keep the most confident")
    func quality() {
        let frontal = [FacePoint(x: 30, y: 40), FacePoint(x: 70, y: 40), FacePoint(x: 50, y: 60), FacePoint(x: 35, y: 80), FacePoint(x: 65, y: 80)]
        var turned = frontal
        turned[2].x = 68
        let box = PixelBox(x1: 0, y1: 0, x2: 100, y2: 120)
        let good = FaceQuality(face: DetectedFace(box: box, confidence: 0.95, landmarks: frontal), sharpness: 200)
        #expect(good.yaw == 0 && good.score == 1)
        #expect(FaceQuality(face: DetectedFace(box: box, confidence: 0.95, landmarks: turned), sharpness: 200).score < good.score)
        #expect(FaceQuality(face: DetectedFace(box: box, confidence: 0.95, landmarks: frontal), sharpness: 30).score < good.score)
        let faces = [DetectedFace(box: box, confidence: 0.8, landmarks: frontal), DetectedFace(box: PixelBox(x1: 5, y1: 5, x2: 100, y2: 120), confidence: 0.9, landmarks: frontal),
                     DetectedFace(box: PixelBox(x1: 300, y1: 0, x2: 400, y2: 120), confidence: 0.85, landmarks: frontal)]
        #expect(DetectedFace.suppressingOverlaps(faces).map(\.confidence) == [0.9, 0.85])
    }
}

private let ana = UUID(uuidString: "0190F1A2-0000-7000-8000-0000000000B1")!
private let marco = UUID(uuidString: "0190F1A2-0000-7000-8000-0000000000B2")!
private let banned = RecognizedPerson.Watch(id: UUID(uuidString: "0190F1A2-0000-7000-8000-0000000000C1")!, name: "Banned", type: .blacklist)
private let suspects = RecognizedPerson.Watch(id: UUID(uuidString: "0190F1A2-0000-7000-8000-0000000000C2")!, name: "Suspects", type: .suspect)

@Suite("Recognition: matching, clusters, calibration")
struct RecognitionLogicTests {
    @Test("the nearest gallery face within the threshold names the person; beyond it, nobody")
    func matching() {
        let candidates = [GalleryCandidate(faceId: UUID(), personId: marco, distance: 0.61),
                          GalleryCandidate(faceId: UUID(), personId: ana, distance: 0.42)]
        let match = FaceMatch.best(of: candidates, threshold: 0.637)
        #expect(match?.personId == ana && match?.distance == 0.42)
        #expect(match.map { $0.confidence > 0.5 && $0.confidence < 1 } == true)
        #expect(FaceMatch.best(of: candidates, threshold: 0.4) == nil)
        #expect(FaceMatch.best(of: [], threshold: 0.637) == nil)
        #expect(FaceMatch.best(of: [GalleryCandidate(faceId: UUID(), personId: ana, distance: 0.637)], threshold: 0.637)?.confidence == 0.5)
    }

    @Test("an unknown face joins the nearest cluster within the threshold, else starts one")
    func clusters() {
        let cluster = UUID()
        #expect(ClusterPlacement.decide(nearest: (cluster, 0.3), threshold: 0.637) == .join(cluster))
        #expect(ClusterPlacement.decide(nearest: (cluster, 0.7), threshold: 0.637) == .start)
        #expect(ClusterPlacement.decide(nearest: nil, threshold: 0.637) == .start)
        #expect(FaceCluster.label(number: 7) == "Unknown-007" && FaceCluster.label(number: 1234) == "Unknown-1234")
    }

    @Test("a camera's face settings are read from config.faces, misspellings reported")
    func settings() {
        var report = ValidationReport()
        let settings = FaceSettings().applying(cameraConfig: .object(["faces": .object(["mode": .string("frame"), "min_quality": .number(0.3)])]),
                                               report: &report)
        #expect(report.isValid && settings.mode == .frame && settings.minimumQuality == 0.3)
        var bad = ValidationReport()
        _ = FaceSettings().applying(cameraConfig: .object(["faces": .object(["mode": .string("face"), "upper": .number(1)])]), report: &bad)
        #expect(bad.problems.map(\.field) == ["config.faces.mode", "config.faces.upper"])
        let region = FaceSettings().faceRegion(ofPerson: PixelBox(x1: 100, y1: 100, x2: 200, y2: 400), frameWidth: 1000, frameHeight: 1000)
        #expect(region == PixelBox(x1: 90, y1: 85, x2: 210, y2: 250))
    }

    @Test("calibration picks the threshold with the best F1 whose false-match rate stays within the limit")
    func calibration() throws {
        let genuine = [0.2, 0.3, 0.35, 0.5, 0.62]
        let impostor = [0.55, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.97, 0.98, 0.99]
        let loose = try #require(VerificationMetrics.calibrate(genuine: genuine, impostor: impostor, maxFalseMatchRate: 0.1))
        // Up to 0.62 takes every genuine pair and one impostor (10 %).
        #expect(loose.threshold == 0.66 && loose.recall == 1 && loose.falseMatchRate == 0.1)
        let strict = try #require(VerificationMetrics.calibrate(genuine: genuine, impostor: impostor, maxFalseMatchRate: 0))
        #expect(strict.threshold == 0.525 && strict.recall == 0.8 && strict.falseMatchRate == 0 && strict.precision == 1)
        #expect(abs(strict.f1Score - 0.8889) < 1e-4 && strict.accuracy == 0.9333)
        #expect(VerificationMetrics.calibrate(genuine: [], impostor: impostor) == nil)
    }

    @Test("training deals each person's faces into two halves, calibrates on one and judges on the other")
    func training() throws {
        func vector(_ angle: Double) -> [Float] { [Float(cos(angle)), Float(sin(angle)), 0] }
        var samples: [RecognitionTraining.Sample] = []
        for (person, centre) in [(ana, 0.0), (marco, 1.5)] {
            for offset in [-0.1, -0.05, 0.0, 0.05, 0.1, 0.12] {
                samples.append(.init(faceId: UUID(), personId: person, embedding: vector(centre + offset)))
            }
        }
        guard case .success(let outcome) = RecognitionTraining.run(samples, maxFalseMatchRate: 0.01) else {
            Issue.record("training failed")
            return
        }
        #expect(outcome.persons == 2 && outcome.faces == 12)
        #expect(outcome.heldOut.recall == 1 && outcome.heldOut.falseMatchRate == 0, "\(outcome.heldOut)")
        #expect(outcome.heldOut.genuinePairs == 6 && outcome.heldOut.impostorPairs == 9)
        let lonely = Array(samples.prefix(6))
        #expect(RecognitionTraining.run(lonely, maxFalseMatchRate: 0.01) == .failure(.tooFewFaces(persons: 1)))
    }

    @Test("a review takes a person only to correct or merge")
    func review() {
        #expect(ReviewInput(action: .correctName).validate().problems.map(\.field) == ["person_id"])
        #expect(ReviewInput(action: .reject, personId: ana).validate().problems.map(\.field) == ["person_id"])
        #expect(ReviewInput(action: .merge, personId: ana).validate().isValid)
    }
}

@Suite("Recognized people in risk and rules")
struct RecognizedPeopleTests {
    let utc = TimeZone(identifier: "UTC")!

    func assess(_ persons: [RecognizedPerson], unknownFaces: Int = 0) -> RiskAssessment {
        RiskScorer().assess(RiskFactors(cameraName: "Shop Door", objectCounts: ["person": 1], startedAt: Date(timeIntervalSince1970: 1_800_000_000 + 12 * 3600),
                                        schedule: WeeklySchedule(start: 0, end: 24 * 60, timeZone: utc), persons: persons, unknownFaces: unknownFaces))
    }

    @Test("a blacklisted person adds the most, a suspect less, known people alone lower the risk, a stranger's face adds a little")
    func risk() {
        let base = assess([]).score
        let blacklisted = assess([RecognizedPerson(id: marco, name: "Marco", status: .known, watchlists: [banned])])
        #expect(blacklisted.score == base + 45 && blacklisted.decisionTrace.contains("person_blacklisted +45"))
        #expect(blacklisted.summary.hasPrefix("Marco (watched) at Shop Door"), "\(blacklisted.summary)")
        let suspect = assess([RecognizedPerson(id: marco, name: "Marco", status: .known, watchlists: [suspects])])
        #expect(suspect.score == base + 30)
        let byStatus = assess([RecognizedPerson(id: marco, name: "Marco", status: .blacklisted)])
        #expect(byStatus.decisionTrace.contains("person_blacklisted +45"))
        let household = assess([RecognizedPerson(id: ana, name: "Ana", status: .known)])
        #expect(household.score == base - 15 && household.reasoning.contains("Only known people were recognized: Ana."))
        #expect(household.summary.hasPrefix("Ana at Shop Door"))
        let withStranger = assess([RecognizedPerson(id: ana, name: "Ana", status: .known)], unknownFaces: 1)
        #expect(withStranger.score == base + 5 && !withStranger.decisionTrace.contains { $0.hasPrefix("person_known") })
    }

    func subject(_ persons: [RecognizedPerson]) -> AlertSubject {
        AlertSubject(eventId: UUID(), cameraId: UUID(), cameraName: "Shop Door", siteTimeZone: utc, eventType: .personRecognized, riskScore: 80,
                     riskLevel: .high, occurredAt: Date(timeIntervalSince1970: 1_800_000_000), personId: persons.first?.id, persons: persons,
                     sightings: [.init(objectType: "person", confidence: 0.9, zoneIds: [])])
    }

    @Test("person, status and watchlist conditions hold for one and the same person; the alert is about that person")
    func rules() {
        let evaluator = RuleEvaluator()
        let both = [RecognizedPerson(id: ana, name: "Ana", status: .vip), RecognizedPerson(id: marco, name: "Marco", status: .known, watchlists: [banned])]
        var rule = AlertRule(id: UUID(), name: "Banned", watchlistIds: [banned.id])
        let match = evaluator.evaluate(RuleEvaluator.Compiled(rule), on: subject(both)).match
        #expect(match?.personId == marco && match?.dedupKey.hasSuffix(rule.id.uuidString.lowercased()) == true)
        #expect(match?.message.hasPrefix("Marco (known, on Banned) recognized on camera \"Shop Door\"") == true, "\(match?.message ?? "")")
        // A VIP on the banned list: nobody is both.
        rule.personStatuses = [.vip]
        guard case .noMatch(let reasons) = evaluator.evaluate(RuleEvaluator.Compiled(rule), on: subject(both)) else {
            Issue.record("a VIP who is not on the list matched")
            return
        }
        #expect(reasons == ["no recognized person vip, on a chosen watchlist (seen: Ana (vip), Marco (known))"])
        let named = AlertRule(id: UUID(), name: "Ana", personIds: [ana], dedupKeyTemplate: "{person_id}")
        #expect(evaluator.evaluate(RuleEvaluator.Compiled(named), on: subject(both)).match?.dedupKey == ana.uuidString.lowercased())
        #expect(evaluator.evaluate(RuleEvaluator.Compiled(named), on: subject([])).match == nil)
    }
}
