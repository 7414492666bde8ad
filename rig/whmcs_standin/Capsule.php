<?php

/**
 * STAND-IN FOR WHMCS, FOR TESTS ONLY: the sliver of WHMCS\Database\Capsule (Laravel's query builder, docs:
 * "Interacting with the Database") the module uses: table()->where()->get() returning objects, value(), first()
 * and updateOrInsert(), over PDO to the test database (env STANDIN_DB_DSN / _USER / _PASSWORD). PHP 7.4+.
 */

declare(strict_types=1);

namespace WHMCS\Database;

final class Capsule
{
    /** @var \PDO|null */
    private static $pdo;

    public static function table(string $table): CapsuleQuery
    {
        if (self::$pdo === null) {
            $dsn = (string) getenv('STANDIN_DB_DSN');
            if ($dsn === '') {
                throw new \RuntimeException('stand-in: no database (STANDIN_DB_DSN)');
            }
            self::$pdo = new \PDO($dsn, (string) getenv('STANDIN_DB_USER'), (string) getenv('STANDIN_DB_PASSWORD'),
                [\PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION]);
        }
        return new CapsuleQuery(self::$pdo, $table);
    }
}

final class CapsuleQuery
{
    /** @var \PDO */
    private $pdo;
    /** @var string */
    private $table;
    /** @var array */
    private $wheres = [];

    public function __construct(\PDO $pdo, string $table)
    {
        $this->pdo = $pdo;
        $this->table = self::name($table);
    }

    private static function name(string $name): string
    {
        if (!preg_match('/^[A-Za-z0-9_]+$/', $name)) {
            throw new \InvalidArgumentException('bad identifier');
        }
        return '`' . $name . '`';
    }

    public function where(string $column, $value): self
    {
        $this->wheres[self::name($column)] = $value;
        return $this;
    }

    private function run(string $sql, array $args): \PDOStatement
    {
        $stmt = $this->pdo->prepare($sql);
        $stmt->execute($args);
        return $stmt;
    }

    private function whereSql(): string
    {
        return $this->wheres === [] ? '' : ' WHERE ' . implode(' AND ', array_map(function (string $c): string {
            return $c . ' = ?';
        }, array_keys($this->wheres)));
    }

    public function get(): array
    {
        return $this->run('SELECT * FROM ' . $this->table . $this->whereSql(), array_values($this->wheres))
            ->fetchAll(\PDO::FETCH_OBJ);
    }

    public function first()
    {
        $rows = $this->get();
        return $rows === [] ? null : $rows[0];
    }

    public function value(string $column)
    {
        $row = $this->first();
        return $row === null ? null : $row->$column;
    }

    public function updateOrInsert(array $attributes, array $values): bool
    {
        foreach ($attributes as $column => $value) {
            $this->where((string) $column, $value);
        }
        if ($this->first() !== null) {
            $set = implode(', ', array_map(function (string $c): string {
                return self::name($c) . ' = ?';
            }, array_keys($values)));
            $this->run('UPDATE ' . $this->table . ' SET ' . $set . $this->whereSql(),
                array_merge(array_values($values), array_values($this->wheres)));
            return true;
        }
        $row = $attributes + $values;
        $this->run('INSERT INTO ' . $this->table . ' (' . implode(', ', array_map([self::class, 'name'], array_keys($row)))
            . ') VALUES (' . implode(', ', array_fill(0, count($row), '?')) . ')', array_values($row));
        return true;
    }
}
