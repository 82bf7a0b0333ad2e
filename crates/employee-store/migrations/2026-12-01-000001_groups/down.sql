DROP INDEX employees_groups;
DROP TABLE groups;
