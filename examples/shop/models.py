"""A small shop's models (Django). The bugs live in services.py."""

from django.db import models


class Customer(models.Model):
    email = models.EmailField(unique=True)
    store_credit = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    loyalty_points = models.IntegerField(default=0)


class Product(models.Model):
    sku = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    stock = models.IntegerField()
    price = models.DecimalField(max_digits=10, decimal_places=2)

    def reserve(self, quantity):
        # Bug: the instance was loaded somewhere else, without a lock.
        self.stock -= quantity
        self.save(update_fields=["stock"])


class Order(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT)
    status = models.CharField(max_length=16, default="cart")
    total = models.DecimalField(max_digits=10, decimal_places=2, default=0)
