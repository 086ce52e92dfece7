import Foundation

/// How a person is treated when recognized (seed 002 `person_status_enum`): a blacklisted person
/// raises risk and alerts, a VIP may be greeted, an unknown one is only being tracked.
public enum PersonStatus: String, Codable, Sendable, CaseIterable {
    case known, unknown, blacklisted, vip
}

/// Seed 002's person labels.
public enum PersonLabel: String, Codable, Sendable, CaseIterable {
    case employee, visitor, vendor, driver, staff, contractor, blacklisted, vip, custom
}

/// Seed 002's watchlist types.
public enum WatchType: String, Codable, Sendable, CaseIterable {
    case vip, blacklist, suspect, custom
}

/// A person of the gallery, with their aliases, labels and how many faces they have.
public struct Person: Codable, Sendable, Equatable {
    public var id: UUID
    /// The site the person was enrolled at, whose cameras alone recognize them; nil: every site.
    public var siteId: UUID?
    public var name: String?
    public var status: PersonStatus
    public var role: String?
    public var department: String?
    public var company: String?
    public var notes: String?
    public var aliases: [String]
    public var labels: [PersonLabel]
    public var primaryFaceId: UUID?
    public var faceCount: Int
    public var watchlistIds: [UUID]
    public var createdAt: Date
    public var updatedAt: Date

    public init(id: UUID, name: String?, status: PersonStatus, role: String?, department: String?, company: String?, notes: String?,
                aliases: [String], labels: [PersonLabel], primaryFaceId: UUID?, faceCount: Int, watchlistIds: [UUID],
                createdAt: Date, updatedAt: Date, siteId: UUID? = nil) {
        self.id = id
        self.siteId = siteId
        self.name = name
        self.status = status
        self.role = role
        self.department = department
        self.company = company
        self.notes = notes
        self.aliases = aliases
        self.labels = labels
        self.primaryFaceId = primaryFaceId
        self.faceCount = faceCount
        self.watchlistIds = watchlistIds
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, status, role, department, company, notes, aliases, labels
        case siteId = "site_id"
        case primaryFaceId = "primary_face_id", faceCount = "face_count", watchlistIds = "watchlist_ids"
        case createdAt = "created_at", updatedAt = "updated_at"
    }
}

/// What a client may set on a person. Aliases and labels given replace the person's own.
public struct PersonInput: Codable, Sendable, Equatable, StrictInput {
    public var name: String?
    public var status: PersonStatus?
    public var role: String?
    public var department: String?
    public var company: String?
    public var notes: String?
    public var aliases: [String]?
    public var labels: [PersonLabel]?
    /// Where the person is enrolled; when left out, every site for a caller who sees them all, else
    /// the caller's only site.
    public var siteId: UUID?

    public init(name: String? = nil, status: PersonStatus? = nil, role: String? = nil, department: String? = nil, company: String? = nil,
                notes: String? = nil, aliases: [String]? = nil, labels: [PersonLabel]? = nil, siteId: UUID? = nil) {
        self.siteId = siteId
        self.name = name
        self.status = status
        self.role = role
        self.department = department
        self.company = company
        self.notes = notes
        self.aliases = aliases
        self.labels = labels
    }

    public init(_ person: Person) {
        self.init(name: person.name, status: person.status, role: person.role, department: person.department, company: person.company,
                  notes: person.notes, aliases: person.aliases, labels: person.labels, siteId: person.siteId)
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, status, role, department, company, notes, aliases, labels
        case siteId = "site_id"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        if let name { report.checkName(name, field: "name", maxLength: 200) }
        for (field, value, limit) in [("role", role, 100), ("department", department, 100), ("company", company, 200)] {
            if let value { report.check(value.storedLength <= limit, field, "must be at most \(limit) characters") }
        }
        report.check((notes?.storedLength ?? 0) <= 10_000, "notes", "must be at most 10000 characters")
        if let aliases {
            report.check(aliases.count <= 50, "aliases", "must list at most 50 names")
            for alias in aliases { report.checkName(alias, field: "aliases", maxLength: 200) }
            report.check(Set(aliases).count == aliases.count, "aliases", "must not repeat a name")
        }
        if let labels { report.check(Set(labels).count == labels.count, "labels", "must not repeat a label") }
        return report
    }
}

/// A named list of people to watch for (seed 002 §8).
public struct Watchlist: Codable, Sendable, Equatable {
    public var id: UUID
    /// The site whose people it watches for; nil: every site.
    public var siteId: UUID?
    public var name: String
    public var description: String?
    public var watchType: WatchType
    public var isActive: Bool
    public var entryCount: Int
    public var createdAt: Date

    public init(id: UUID, name: String, description: String?, watchType: WatchType, isActive: Bool, entryCount: Int, createdAt: Date,
                siteId: UUID? = nil) {
        self.id = id
        self.siteId = siteId
        self.name = name
        self.description = description
        self.watchType = watchType
        self.isActive = isActive
        self.entryCount = entryCount
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name, description
        case siteId = "site_id"
        case watchType = "watch_type", isActive = "is_active", entryCount = "entry_count", createdAt = "created_at"
    }
}

public struct WatchlistInput: Codable, Sendable, Equatable, StrictInput {
    public var name: String
    public var description: String?
    public var watchType: WatchType
    public var isActive: Bool?
    /// As for a person: when left out, every site for a caller who sees them all, else the caller's only site.
    public var siteId: UUID?

    public init(name: String, description: String? = nil, watchType: WatchType, isActive: Bool? = nil, siteId: UUID? = nil) {
        self.siteId = siteId
        self.name = name
        self.description = description
        self.watchType = watchType
        self.isActive = isActive
    }

    public init(_ watchlist: Watchlist) {
        self.init(name: watchlist.name, description: watchlist.description, watchType: watchlist.watchType, isActive: watchlist.isActive,
                  siteId: watchlist.siteId)
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name, description
        case watchType = "watch_type", isActive = "is_active"
        case siteId = "site_id"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.checkName(name, field: "name", maxLength: 100)
        report.check((description?.storedLength ?? 0) <= 2000, "description", "must be at most 2000 characters")
        return report
    }
}

public struct WatchlistEntry: Codable, Sendable, Equatable {
    public var watchlistId: UUID
    public var personId: UUID
    public var personName: String?
    public var personStatus: PersonStatus
    public var notes: String?
    public var addedBy: UUID?
    public var addedAt: Date

    public init(watchlistId: UUID, personId: UUID, personName: String?, personStatus: PersonStatus, notes: String?, addedBy: UUID?,
                addedAt: Date) {
        self.watchlistId = watchlistId
        self.personId = personId
        self.personName = personName
        self.personStatus = personStatus
        self.notes = notes
        self.addedBy = addedBy
        self.addedAt = addedAt
    }

    enum CodingKeys: String, CodingKey {
        case notes
        case watchlistId = "watchlist_id", personId = "person_id", personName = "person_name", personStatus = "person_status"
        case addedBy = "added_by", addedAt = "added_at"
    }
}

public struct WatchlistEntryInput: Codable, Sendable, Equatable, StrictInput {
    public var personId: UUID
    public var notes: String?

    public init(personId: UUID, notes: String? = nil) {
        self.personId = personId
        self.notes = notes
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case notes
        case personId = "person_id"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.check((notes?.storedLength ?? 0) <= 2000, "notes", "must be at most 2000 characters")
        return report
    }
}

/// Where a stored face came from: an enrolled photo, a face a camera saw and recognized, or one
/// it saw and did not.
public enum FaceSource: String, Codable, Sendable, CaseIterable {
    case enrolment, recognition, unknown
}

/// A stored face (without its vector).
public struct FaceRecord: Codable, Sendable, Equatable {
    public var id: UUID
    public var personId: UUID?
    public var clusterId: UUID?
    public var cameraId: UUID?
    public var eventId: UUID?
    public var detectionId: UUID?
    public var source: FaceSource
    public var isPrimary: Bool
    public var quality: Double
    public var confidence: Double
    public var box: PixelBox?
    public var modelVersion: String
    /// The cropped face, under the media store.
    public var imagePath: String
    public var createdAt: Date

    public init(id: UUID, personId: UUID?, clusterId: UUID?, cameraId: UUID?, eventId: UUID?, detectionId: UUID?, source: FaceSource,
                isPrimary: Bool, quality: Double, confidence: Double, box: PixelBox?, modelVersion: String, imagePath: String,
                createdAt: Date) {
        self.id = id
        self.personId = personId
        self.clusterId = clusterId
        self.cameraId = cameraId
        self.eventId = eventId
        self.detectionId = detectionId
        self.source = source
        self.isPrimary = isPrimary
        self.quality = quality
        self.confidence = confidence
        self.box = box
        self.modelVersion = modelVersion
        self.imagePath = imagePath
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, source, quality, confidence, box
        case personId = "person_id", clusterId = "cluster_id", cameraId = "camera_id", eventId = "event_id",
             detectionId = "detection_id", isPrimary = "is_primary", modelVersion = "model_version", imagePath = "image_path",
             createdAt = "created_at"
    }
}

/// Faces of one stranger seen again and again (seed 002 `person_clusters`).
public struct FaceCluster: Codable, Sendable, Equatable {
    public enum Status: String, Codable, Sendable, CaseIterable {
        case active, merged, reviewed
    }

    public var id: UUID
    /// The site whose cameras saw these faces (nil for clusters older than sites of people).
    public var siteId: UUID?
    public var label: String
    public var modelVersion: String
    public var sampleCount: Int
    public var firstSeen: Date
    public var lastSeen: Date
    public var status: Status
    public var representativeFaceId: UUID?
    public var mergedIntoClusterId: UUID?
    public var promotedToPersonId: UUID?

    public init(id: UUID, label: String, modelVersion: String, sampleCount: Int, firstSeen: Date, lastSeen: Date, status: Status,
                representativeFaceId: UUID?, mergedIntoClusterId: UUID?, promotedToPersonId: UUID?, siteId: UUID? = nil) {
        self.id = id
        self.siteId = siteId
        self.label = label
        self.modelVersion = modelVersion
        self.sampleCount = sampleCount
        self.firstSeen = firstSeen
        self.lastSeen = lastSeen
        self.status = status
        self.representativeFaceId = representativeFaceId
        self.mergedIntoClusterId = mergedIntoClusterId
        self.promotedToPersonId = promotedToPersonId
    }

    enum CodingKeys: String, CodingKey {
        case id, label, status
        case siteId = "site_id"
        case modelVersion = "model_version", sampleCount = "sample_count", firstSeen = "first_seen", lastSeen = "last_seen",
             representativeFaceId = "representative_face_id", mergedIntoClusterId = "merged_into_cluster_id",
             promotedToPersonId = "promoted_to_person_id"
    }

    /// `Unknown-007` for the seventh cluster.
    public static func label(number: Int) -> String { "Unknown-" + String(format: "%03d", number) }
}

public struct ReviewInput: Codable, Sendable, Equatable, StrictInput {
    public var action: ReviewAction
    public var personId: UUID?
    public var notes: String?

    public init(action: ReviewAction, personId: UUID? = nil, notes: String? = nil) {
        self.action = action
        self.personId = personId
        self.notes = notes
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case action, notes
        case personId = "person_id"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        switch action {
        case .correctName, .merge: report.check(personId != nil, "person_id", "is required to \(action.rawValue.replacingOccurrences(of: "_", with: " "))")
        case .confirm, .reject, .delete: report.check(personId == nil, "person_id", "is only taken by correct_name and merge")
        }
        report.check((notes?.storedLength ?? 0) <= 2000, "notes", "must be at most 2000 characters")
        return report
    }
}

/// A review as recorded (seed 002 `review_actions`).
public struct ReviewRecord: Codable, Sendable, Equatable {
    public var id: UUID
    public var eventId: UUID
    public var reviewerId: UUID?
    public var action: ReviewAction
    public var fromPersonId: UUID?
    public var toPersonId: UUID?
    /// The event's best face, the one the verdict is mostly about.
    public var faceId: UUID?
    public var notes: String?
    public var createdAt: Date

    public init(id: UUID, eventId: UUID, reviewerId: UUID?, action: ReviewAction, fromPersonId: UUID?, toPersonId: UUID?,
                faceId: UUID?, notes: String?, createdAt: Date) {
        self.id = id
        self.eventId = eventId
        self.reviewerId = reviewerId
        self.action = action
        self.fromPersonId = fromPersonId
        self.toPersonId = toPersonId
        self.faceId = faceId
        self.notes = notes
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, action, notes
        case eventId = "event_id", reviewerId = "reviewer_id", fromPersonId = "from_person_id", toPersonId = "to_person_id",
             faceId = "face_id", createdAt = "created_at"
    }
}

/// `POST /face-clusters/{id}/merge`: the cluster's faces join another cluster of the same stranger.
public struct ClusterMergeInput: Codable, Sendable, Equatable, StrictInput {
    public var intoClusterId: UUID

    public init(intoClusterId: UUID) {
        self.intoClusterId = intoClusterId
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case intoClusterId = "into_cluster_id"
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport { ValidationReport() }
}

/// `POST /face-clusters/{id}/promote`: the stranger is someone: an existing person, or a new one.
public struct ClusterPromoteInput: Codable, Sendable, Equatable, StrictInput {
    public var personId: UUID?
    public var person: PersonInput?

    public init(personId: UUID? = nil, person: PersonInput? = nil) {
        self.personId = personId
        self.person = person
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case personId = "person_id", person
    }

    public static var fieldNames: [String] { CodingKeys.allCases.map(\.rawValue) }

    public func validate() -> ValidationReport {
        var report = ValidationReport()
        report.check((personId == nil) != (person == nil), "person_id", "give either person_id (an existing person) or person (a new one)")
        if let person { report.merge(person.validate()) }
        return report
    }
}
