DROP TABLE outbox;
DROP TABLE users;
DROP TABLE connections;
