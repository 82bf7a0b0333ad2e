DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE event_bodies;
DROP TABLE subscriptions;
