import Foundation
import Testing
import VigilCore

@Suite("Input validation of sites, DVRs and cameras")
struct InputValidationTests {
    @Test("a camera's source kind follows from the addresses given")
    func sourceKindInference() {
        #expect(CameraInput(name: "a", rtspUrl: "rtsp://h/s").resolvedSourceKind == .rtsp)
        #expect(CameraInput(name: "a", snapshotUrl: "http://h/snap.jpg").resolvedSourceKind == .httpSnapshot)
        #expect(CameraInput(name: "a").resolvedSourceKind == .httpPush)
        #expect(CameraInput(name: "a", sourceKind: .ftpFolder).resolvedSourceKind == .ftpFolder)
    }

    @Test("an rtsp camera needs an rtsp address and a snapshot camera an http one")
    func addresses() {
        let missing = CameraInput(name: "a", sourceKind: .rtsp).validate()
        #expect(missing.problems.map(\.field) == ["rtsp_url"])
        let wrongScheme = CameraInput(name: "a", rtspUrl: "http://h/s").validate()
        #expect(wrongScheme.problems.map(\.field) == ["rtsp_url"])
        let mjpeg = CameraInput(name: "a", sourceKind: .mjpeg, snapshotUrl: "ftp://h/x").validate()
        #expect(mjpeg.problems.map(\.field) == ["snapshot_url"])
        #expect(CameraInput(name: "a", snapshotUrl: "https://cam.local/snap.jpg").validate().isValid)
    }

    @Test("a name without letters or digits gives no slug")
    func noSlug() {
        #expect(CameraInput(name: "!!!").validate().problems.map(\.field) == ["name"])
        #expect(CameraInput(name: "Front", slug: "***").validate().problems.map(\.field) == ["slug"])
    }

    @Test("fps, resolution, channel and folder are checked")
    func numbers() {
        let input = CameraInput(channelNumber: 3, name: "a", folderPath: "../etc", resolution: "1920*1080", fps: 0,
                                config: .array([]))
        #expect(Set(input.validate().problems.map(\.field)) == ["channel_number", "fps", "resolution", "folder_path", "config"])
        #expect(CameraInput(name: "a", resolution: "1920x1080", fps: 15).validate().isValid)
    }

    @Test("sites need a known IANA time zone")
    func timezones() {
        #expect(SiteInput(name: "Home", timezone: "Europe/London").validate().isValid)
        #expect(SiteInput(name: "Home").resolvedTimezone == "UTC")
        #expect(SiteInput(name: "Home", timezone: "Mars/Olympus").validate().problems.map(\.field) == ["timezone"])
    }

    @Test("DVRs need an IP address and real port numbers")
    func dvrs() {
        #expect(DVRInput(name: "NVR", ipAddress: "192.168.1.20", ports: ["rtsp": 554]).validate().isValid)
        #expect(DVRInput(name: "NVR", ipAddress: "fe80::1").validate().isValid)
        let bad = DVRInput(name: "NVR", ipAddress: "nvr.local", ports: ["rtsp": 0, "http": 70000])
        #expect(bad.validate().problems.map(\.field) == ["ip_address", "ports.http", "ports.rtsp"])
    }

    @Test("stream passwords are redacted and nothing else changes", arguments: [
        ("rtsp://admin:secret@10.0.0.5:554/stream1", "rtsp://admin:***@10.0.0.5:554/stream1"),
        ("rtsp://admin@10.0.0.5/stream1", "rtsp://admin@10.0.0.5/stream1"),
        ("rtsp://10.0.0.5/stream1?user=a", "rtsp://10.0.0.5/stream1?user=a"),
        ("http://u:p%40ss@cam/snap.jpg", "http://u:***@cam/snap.jpg"),
        ("rtsp://u:p@ss@cam/s", "rtsp://u:***@cam/s"),
    ])
    func redaction(url: String, expected: String) {
        #expect(StreamURL.redactingPassword(url) == expected)
    }
}
