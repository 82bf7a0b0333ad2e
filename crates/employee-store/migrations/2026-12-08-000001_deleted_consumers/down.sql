DROP TABLE deleted_consumers;
