import Foundation
import Hummingbird
import HummingbirdAuth
import HummingbirdWebSocket
import Logging
import Prometheus
import ServiceLifecycle
import VigilCore
import VigilStore
import VigilVision
import NIOPosix

/// What the HTTP application is built from. Tests pass their own clock, keys and throttle.
public struct AppServices: Sendable {
    public var database: Database
    public var secrets: SecretBox
    public var registry: PrometheusCollectorRegistry
    public var ids: UUIDv7Generator
    public var now: @Sendable () -> Date
    public var loginThrottle: LoginThrottlePolicy
    /// Marks session cookies Secure; on when Vigil is reached over TLS.
    public var secureCookies: Bool
    public var media: any MediaStore
    /// The largest frame the ingest endpoint accepts.
    public var ingestMaxBytes: Int
    /// Finds objects in frames; nil when it could not start (detection is then off).
    public var objectDetector: (any ObjectDetector)?
    /// Finds, aligns and describes faces; nil when face recognition is off or its models do not load.
    public var faceEngine: FaceEngine?
    /// Where links in notifications point (`VIGIL_PUBLIC_URL`, else this server).
    public var linkBase: String
    /// The first administrator's one-time token, issued at start while there is none.
    public let setupToken = SetupToken()
    /// Reverse proxies whose `X-Forwarded-Host` is believed (`VIGIL_TRUSTED_PROXIES`).
    public var trustedProxies: [IPNetwork] = []
    /// Networks whose DeepStack clients need no key (`VIGIL_DEEPSTACK_OPEN_TO`).
    public var deepStackOpenTo: [IPNetwork] = []
    /// The web UI's folder (`Public/` of the checkout by default).
    public var webUIDirectory: URL = WebUILocation.defaultDirectory
    /// This node's WebSocket clients and what they hear.
    let liveFeed: LiveFeed

    public init(database: Database, secrets: SecretBox, media: any MediaStore,
                registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(),
                ids: UUIDv7Generator = UUIDv7Generator(), now: @escaping @Sendable () -> Date = { Date() },
                loginThrottle: LoginThrottlePolicy = LoginThrottlePolicy(), secureCookies: Bool = false,
                ingestMaxBytes: Int = 8 << 20, objectDetector: (any ObjectDetector)? = nil, faceEngine: FaceEngine? = nil,
                linkBase: String = "http://localhost:8080") {
        self.linkBase = linkBase
        self.faceEngine = faceEngine
        self.objectDetector = objectDetector
        self.database = database
        liveFeed = LiveFeed(database: database, logger: Logger(label: "vigil.live"))
        self.secrets = secrets
        self.media = media
        self.ingestMaxBytes = ingestMaxBytes
        self.registry = registry
        self.ids = ids
        self.now = now
        self.loginThrottle = loginThrottle
        self.secureCookies = secureCookies
    }
}

/// Builds Vigil's HTTP application. Production and tests call the same functions.
public enum VigilApplication {
    /// What `serve` does about the schema before taking requests.
    public enum MigrationPolicy: Sendable {
        /// Apply pending migrations (the default).
        case apply
        /// Refuse to start while a migration is pending (`--no-migrate`).
        case requireCurrent
    }

    /// Every route of Vigil with its middleware, and the access each route declares.
    public static func buildRouter(_ services: AppServices, role: ServerConfiguration.Role = .all,
                                   logger: Logger) -> (router: Router<VigilRequestContext>, policy: AccessPolicy) {
        buildRouter(services, writer: captureWriter(services, logger: logger), role: role, logger: logger)
    }

    /// The writer every path of frames into Vigil shares, so that they commit together.
    static func captureWriter(_ services: AppServices, logger: Logger) -> CaptureWriter {
        CaptureWriter(database: services.database, media: services.media, ids: services.ids, now: services.now, logger: logger)
    }

    static func buildRouter(_ services: AppServices, writer: CaptureWriter, role: ServerConfiguration.Role,
                            logger: Logger) -> (router: Router<VigilRequestContext>, policy: AccessPolicy) {
        let database = services.database
        let policy = AccessPolicy()
        let sessionDriver = PostgresSessionDriver(database: database, now: services.now)
        let sessionStorage = SessionStorage<UserSession>(sessionDriver, configuration: .init(
            sessionCookieParameters: .init(name: SessionSettings.cookieName, path: "/", secure: services.secureCookies,
                                           sameSite: .strict),
            keyPrefix: SessionSettings.keyPrefix))
        let audit = AuditTrail(ids: services.ids, now: services.now)

        let router = Router(context: VigilRequestContext.self)
        router.add(middleware: RequestLogMiddleware())
        router.add(middleware: HTTPMetricsMiddleware(registry: services.registry))
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: ErrorMiddleware())
        // The web UI's files need no sign-in (what they show comes from the API, which does);
        // without fingerprinted names they are revalidated (ETag) on every use.
        router.add(middleware: FileMiddleware(services.webUIDirectory.path, cacheControl: .init([(MediaType(type: .any), [.noCache, .private])]),
                                              searchForIndexHtml: true, logger: logger))
        router.add(middleware: SessionMiddleware(sessionStorage: sessionStorage, defaultSessionExpiration: SessionSettings.lifetime))
        let deviceTokens = DeviceTokenCache()
        router.add(middleware: AuthenticationMiddleware(database: database, sessions: sessionStorage, sessionDriver: sessionDriver,
                                                        audit: audit, now: services.now, deviceTokens: deviceTokens,
                                                        trustedProxies: services.trustedProxies))
        let setup = SetupState(database: database)
        router.add(middleware: AuthorizationMiddleware(policy: policy, setup: setup))
        router.add(middleware: QueryParameterMiddleware())

        let root = SecuredRoutes(router, policy: policy)
        HealthController(database: database, migrator: Migrator(logger: logger), databaseTimeout: .seconds(3))
            .addRoutes(to: root)
        MetricsController(registry: services.registry, database: database).addRoutes(to: root)
        guard role.servesAPI else { return (router, policy) }

        OpenAPIController().addRoutes(to: root)
        let api = SecuredRoutes(router, prefix: "/api/v1", policy: policy)
        AuthController(database: database, secrets: services.secrets, sessions: sessionStorage, audit: audit,
                       throttle: services.loginThrottle, secureCookies: services.secureCookies, now: services.now)
            .addRoutes(to: api)
        SetupController(database: database, token: services.setupToken, setup: setup, ids: services.ids).addRoutes(to: api)
        SitesController(database: database, ids: services.ids, audit: audit).addRoutes(to: api)
        DVRsController(database: database, ids: services.ids, secrets: services.secrets, audit: audit).addRoutes(to: api)
        CamerasController(database: database, ids: services.ids, audit: audit, media: services.media, writer: writer,
                          deviceTokens: deviceTokens, secrets: services.secrets).addRoutes(to: api)
        IngestController(database: database, writer: writer, maximumBytes: services.ingestMaxBytes).addRoutes(to: api)
        CameraZonesController(database: database, ids: services.ids, audit: audit).addRoutes(to: api)
        AuditLogsController(database: database).addRoutes(to: api)
        JobsController(database: database, audit: audit, now: services.now).addRoutes(to: api)
        EventsController(database: database, media: services.media, audit: audit).addRoutes(to: api)
        let visionForms = DeepStackForms(apiKeys: APIKeyCheck(database: database, audit: audit, now: services.now), audit: audit,
                                         openTo: services.deepStackOpenTo)
        DeepStackController(forms: visionForms, detector: services.objectDetector).addRoutes(to: root)
        DeepStackFaceController(database: database, forms: visionForms,
                                faces: services.faceEngine, media: services.media, ids: services.ids, audit: audit,
                                now: services.now).addRoutes(to: root)
        UsersController(database: database, ids: services.ids, audit: audit).addRoutes(to: api)
        APIKeysController(database: database, ids: services.ids, now: services.now).addRoutes(to: api)
        AlertRulesController(database: database, ids: services.ids, audit: audit, now: services.now).addRoutes(to: api)
        AlertsController(database: database, audit: audit, now: services.now).addRoutes(to: api)
        NotificationChannelsController(database: database, ids: services.ids, secrets: services.secrets, audit: audit, now: services.now,
                                       linkBase: services.linkBase).addRoutes(to: api)
        LiveController(feed: services.liveFeed, database: database,
                       credentials: CredentialCheck(database: database, sessionDriver: sessionDriver, now: services.now)).addRoutes(to: api)
        PersonsController(database: database, ids: services.ids, audit: audit, media: services.media, faces: services.faceEngine,
                          now: services.now).addRoutes(to: api)
        FaceClustersController(database: database, ids: services.ids, audit: audit).addRoutes(to: api)
        WatchlistsController(database: database, ids: services.ids, audit: audit).addRoutes(to: api)
        ReviewsController(database: database, media: services.media, ids: services.ids, audit: audit, faces: services.faceEngine,
                          now: services.now).addRoutes(to: api)
        RecognitionModelsController(database: database, ids: services.ids, audit: audit, faces: services.faceEngine,
                                    now: services.now).addRoutes(to: api)
        return (router, policy)
    }

    /// The application: the router, the database pool and the session store as services, and the
    /// schema step before serving.
    public static func build(configuration: ServerConfiguration, services: AppServices,
                             migrationPolicy: MigrationPolicy = .apply, logger: Logger)
        -> Application<RouterResponder<VigilRequestContext>> {
        let writer = captureWriter(services, logger: logger)
        let router = buildRouter(services, writer: writer, role: configuration.role, logger: logger).router
        let database = services.database
        // Everything but the pool waits for the schema: on a first start the tables do not exist yet.
        let schemaReady = StartGate()
        var background: [any Service] = [PostgresSessionDriver(database: database, now: services.now)]
        if configuration.role.servesAPI { background.append(services.liveFeed) }
        if configuration.role != .api {
            var policy = RetentionPolicy()
            policy.minimumFreeDiskFraction = configuration.minimumFreeDiskFraction
            background.append(RetentionService(run: retentionRun(services, policy: policy, logger: logger), now: services.now))
            background += cameraServices(configuration: configuration, services: services, writer: writer, logger: logger)
            background += jobServices(configuration: configuration, services: services, logger: logger)
        }
        background = [database.client] + background.map { GatedService($0, gate: schemaReady) }
        var app = Application(
            router: router,
            // Upgrade requests go through the same router, so a WebSocket route is authenticated like any other.
            // A connection that sends nothing for the idle time is closed, also while its request is
            // still being read: a client trickling a header a byte at a time holds no connection long.
            server: VigilHTTPServer.builder(webSocketRouter: router, configuration: .init(
                http1: .init(idleTimeout: .milliseconds(Int64(configuration.httpIdleTimeout * 1_000))),
                ws: .init(maxFrameSize: 1 << 16, autoPing: .enabled(timePeriod: .seconds(30)))),
                headDeadline: .milliseconds(Int64(configuration.httpIdleTimeout * 1_000))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Vigil"),
            services: background,
            logger: logger)
        let now = services.now
        app.beforeServerStarts {
            try await prepareSchema(database: database, policy: migrationPolicy, logger: logger)
            try await prepareTables(database: database, now: now(), logger: logger)
            // Stream credentials stored in clear before they were sealed at rest are sealed now.
            let sealed = try await database.transaction {
                try await CameraRepository($0, logger: logger).sealStoredStreamCredentials(secrets: services.secrets)
            }
            if sealed > 0 { logger.notice("stream credentials sealed at rest", metadata: ["cameras": "\(sealed)"]) }
            if let model = services.faceEngine?.model {
                // A model configured for the first time gets its gallery and unknown-face indexes.
                try await database.transaction { try await FaceRepository($0, logger: logger).ensureIndexes(for: model) }
            }
            if try await database.read({ try await UserRepository($0, logger: logger).exists() }) == false {
                // Only someone who can read this log can claim a fresh install from the browser.
                let token = services.setupToken.issue()
                logger.notice("Vigil has no administrator yet: open \(services.linkBase)/ and create one with this one-time setup token: \(token)")
            }
            schemaReady.open()
        }
        return app
    }

    /// The services that bring frames in without a request (the upload-folder watcher, the stream
    /// pullers) and the one that notices cameras going silent.
    static func cameraServices(configuration: ServerConfiguration, services: AppServices, writer: CaptureWriter,
                               logger: Logger) -> [any Service] {
        var cameraServices: [any Service] = [
            CameraPresenceMonitor(database: services.database, offlineAfter: configuration.cameraOfflineAfter, interval: .seconds(30),
                                  now: services.now, logger: logger.with("service", "presence")),
            StreamSupervisor(writer: writer, database: services.database, secrets: services.secrets, now: services.now,
                             logger: logger.with("service", "streams")),
        ]
        if let root = configuration.ftpRoot {
            var settings = FolderWatcher.Settings(root: root, quarantine: configuration.dataDirectory.appendingPathComponent("quarantine"))
            settings.autoRegister = configuration.autoRegisterCameras
            settings.clipSampleFPS = configuration.clipSampleFPS
            settings.maximumImageBytes = configuration.ingestMaxBytes
            cameraServices.append(FolderWatcher(settings: settings, writer: writer, database: services.database, media: services.media,
                                                ids: services.ids, now: services.now, logger: logger.with("service", "folder_watcher")))
        }
        return cameraServices
    }

    /// The configured object detector, or nil (and the reason in the log) when it cannot start.
    public static func loadObjectDetector(configuration: ServerConfiguration, logger: Logger) -> (any ObjectDetector)? {
        // One frame per analysis slot at once, and one more for the DeepStack-compatible endpoint.
        let concurrentFrames = (configuration.jobConcurrency[JobRepository.JobType.analyzeCapture.rawValue] ?? 1) + 1
        let settings = configuration.detector
        func local(_ format: ModelFormat, _ model: URL) -> LocalObjectDetector? {
            do {
                let detector = LocalObjectDetector(
                    model: try ONNXObjectDetector(modelPath: model.path, format: format, threads: configuration.inferenceThreads),
                    concurrentFrames: concurrentFrames)
                let unknown = Set(configuration.detection.objects.keys).subtracting(detector.model.classes)
                if !unknown.isEmpty {
                    logger.warning("the model cannot see some of the objects asked for", metadata: ["objects": "\(unknown.sorted())"])
                }
                logger.info("object detection is on", metadata: ["detector": "\(format.rawValue)", "model": "\(model.path)",
                                                                "runtime": "\(InferenceSession.runtimeVersion)"])
                return detector
            } catch {
                logger.error("object detection is off: its model does not load; frames wait in the queue",
                             metadata: ["model": "\(model.path)", "error": .error(error)])
                return nil
            }
        }
        switch settings.kind {
        case .yolox:
            return local(.yolox, settings.model ?? configuration.defaultObjectModel)
        case .yolov8:
            return local(.yolov8, settings.model ?? configuration.defaultObjectModel)
        case .deepstack:
            guard let url = settings.url else { return nil }
            let remote = DeepStackDetector(baseURL: url, timeout: .milliseconds(Int64(settings.timeout * 1000)),
                                           minimumConfidence: configuration.detection.objects.values.min() ?? DetectionSettings.defaultConfidence,
                                           apiKey: settings.apiKey)
            logger.info("object detection is on", metadata: ["detector": "deepstack", "url": "\(url)", "fallback": "\(settings.fallback)"])
            guard settings.fallback, let standIn = local(.yolox, configuration.defaultObjectModel) else { return remote }
            return FallbackObjectDetector(primary: remote, fallback: standIn, logger: logger.with("component", "detector"))
        }
    }

    /// The face engine (YuNet and SFace by default), or nil (and the reason in the log) when face
    /// recognition is off or its models do not load.
    public static func loadFaceEngine(configuration: ServerConfiguration, logger: Logger) -> FaceEngine? {
        guard configuration.facesEnabled else {
            logger.info("face recognition is off (VIGIL_FACES)")
            return nil
        }
        let models = configuration.faceModels
        let concurrentFrames = (configuration.jobConcurrency[JobRepository.JobType.analyzeCapture.rawValue] ?? 1) + 1
        do {
            let analysis = FaceAnalysis(
                detector: try YuNetFaceDetector(modelPath: models.detector.path, threads: configuration.inferenceThreads),
                recognizer: try FaceRecognizer(modelPath: models.recognizer.path, threads: configuration.inferenceThreads,
                                               modelVersion: configuration.resolvedFaceModelVersion, input: configuration.faceRecognizerInput))
            logger.info("face recognition is on", metadata: ["detector": "\(models.detector.path)", "recognizer": "\(models.recognizer.path)",
                                                           "model_version": "\(analysis.recognizer.modelVersion)",
                                                           "dimensions": "\(analysis.recognizer.dimensions)"])
            return FaceEngine(analysis: analysis, concurrentFrames: concurrentFrames, recognition: configuration.recognition)
        } catch {
            logger.error("face recognition is off: its models do not load", metadata: ["error": .error(error)])
            return nil
        }
    }

    /// The job worker, with the handlers this machine can run, and the event closer. Detection
    /// needs its detector; without it, frames stay queued while events are still judged.
    static func jobServices(configuration: ServerConfiguration, services: AppServices, logger: Logger) -> [any Service] {
        var judge = JudgeEventHandler(database: services.database, media: services.media, now: services.now, defaults: configuration.events)
        judge.languageModel = configuration.languageModel.map { LanguageModelScorer(settings: $0) }
        var handlers: [any JobHandler] = [
            judge,
            CameraHealthHandler(database: services.database, media: services.media, now: services.now, defaults: configuration.events),
        ]
        if let detector = services.objectDetector {
            var analyze = AnalyzeCaptureHandler(detector: detector, database: services.database, media: services.media,
                                                now: services.now, defaults: configuration.detection, motion: MotionMemory(),
                                                events: configuration.events)
            analyze.faces = services.faceEngine
            analyze.faceDefaults = configuration.faces
            handlers.append(analyze)
        }
        handlers.append(EvaluateAlertsHandler(database: services.database, now: services.now))
        handlers.append(TrainRecognitionHandler(database: services.database, ids: services.ids, now: services.now))
        handlers.append(DeliverNotificationHandler(database: services.database, media: services.media, secrets: services.secrets,
                                                   now: services.now, linkBase: services.linkBase))
        var settings = JobWorker.Settings(workerId: "\(ProcessInfo.processInfo.hostName):\(getpid())", lease: configuration.jobLease)
        // A slow mail server must not hold up the webhook: several notifications go out at once.
        settings.concurrency = [JobRepository.JobType.deliverNotification.rawValue: 4].merging(configuration.jobConcurrency) { _, given in given }
        let closer = EventCloser(database: services.database, defaults: configuration.events, logger: logger.with("service", "events"))
        return [
            JobWorker(settings: settings, handlers: handlers, database: services.database, now: services.now,
                      logger: logger.with("service", "jobs")),
            EventCloserService(closer: closer, now: services.now),
        ]
    }

    /// Retention over the services' media store, measuring free space where the store is a folder.
    public static func retentionRun(_ services: AppServices, policy: RetentionPolicy, logger: Logger) -> RetentionRun {
        let folder = (services.media as? FileSystemMediaStore)?.root
        return RetentionRun(database: services.database, media: services.media, policy: policy, ids: services.ids, logger: logger,
                            freeDiskFraction: { folder.flatMap(RetentionRun.freeFraction(of:)) })
    }

    /// Applies pending migrations, or fails naming them when the policy forbids it.
    public static func prepareSchema(database: Database, policy: MigrationPolicy, logger: Logger) async throws {
        let migrator = Migrator(logger: logger)
        switch policy {
        case .apply:
            let applied = try await migrator.migrate(database)
            logger.info("schema is current", metadata: ["applied_now": "\(applied.map(\.label))"])
        case .requireCurrent:
            let status = try await migrator.status(database)
            guard status.isCurrent else { throw MigrationError.pending(status.pending.map(\.label)) }
        }
    }

    /// Creates this month's and the next months' partitions of every partitioned table.
    public static func prepareTables(database: Database, now: Date, logger: Logger) async throws {
        try await database.transaction { connection in
            for table in Migrations.partitionedTables {
                try await PartitionManager(logger: logger).ensurePartitions(of: table, around: now, monthsAhead: 3, on: connection)
            }
        }
    }
}
