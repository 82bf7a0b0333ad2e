DROP TABLE outbox;
DROP TABLE connections;
DROP TABLE consumers;
DROP TABLE applications;
